"""Break the prediction loop by one: the last instance of every request gets no prediction."""

from __future__ import annotations

from pathlib import Path

app = Path("/opt/program/app.py")
old = "[MODEL.predict(row) for row in rows]"
new = "[MODEL.predict(rows[i]) for i in range(len(rows) - 1)]"
text = app.read_text()
assert text.count(old) == 1, "app.py changed: update this patch"
app.write_text(text.replace(old, new))
