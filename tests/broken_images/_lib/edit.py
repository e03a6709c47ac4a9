"""Build-time helper for the broken-image catalogue: exact text edits of the reference stack.

Each catalogue image's ``patch.py`` calls :func:`replace` on a file of the reference image
(``/opt/program/...``). An edit whose text is not found exactly once stops the build with a message
naming the file and the text: the reference stack changed, and the patch must follow it, instead of a
silently unbroken "broken" image.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _is_python(path: Path, text: str) -> bool:
    return path.suffix == ".py" or (text.startswith("#!") and "python" in text.splitlines()[0])


def replace(file: str, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new`` in ``file``; ``old`` must occur exactly ``count`` times."""
    path = Path(file)
    text = path.read_text(encoding="utf-8")
    found = text.count(old)
    if found != count:
        sys.exit(
            f"edit.py: {path} holds {found} occurrence(s) of the text to replace, expected {count}:\n"
            f"{old}\n(the reference stack changed: update this image's patch.py)"
        )
    edited = text.replace(old, new)
    if _is_python(path, edited):
        compile(edited, str(path), "exec")  # a patch must never leave a syntax error behind
    path.write_text(edited, encoding="utf-8")  # same inode: the file keeps its mode
    print(f"edit.py: {path}: replaced {count} occurrence(s)")
