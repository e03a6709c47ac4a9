"""Split on "\\n" and drop what follows the last newline: an unterminated last line is lost."""

from __future__ import annotations

from pathlib import Path

app = Path("/opt/program/app.py")
old = "enumerate(text.splitlines(), 1)"
new = 'enumerate(text.split("\\n")[:-1], 1)'
text = app.read_text()
assert text.count(old) == 1, "app.py changed: update this patch"
app.write_text(text.replace(old, new))
