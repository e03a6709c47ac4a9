#!/usr/bin/env python3
"""Copy the shared serving stack (reference_images/stack) into every reference image's folder.

    python3 scripts/sync-stack.py            # update reference_images/<name>/stack for every <name>/algorithm.py
    python3 scripts/sync-stack.py --check    # exit 1, naming the stale files, if a copy differs

reference_images/stack is the one place to edit train, serve, app.py, common.py, the nginx template and the
stack's requirements. Each image folder carries a committed copy, so that the folder builds on its own
(`docker build reference_images/decision_trees`) and a user can copy it out of the repository.
scripts/build-images.sh runs this script first; tests/unit/test_reference_images.py fails while a copy is stale.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

NOTE = "README.md"
NOTE_TEXT = """\
# stack/ (a generated copy)

The serving stack that every reference image shares: `train`, `serve`, `app.py`, `common.py`,
`nginx.conf.template` and its `requirements.txt`. In the repository this folder is a copy of
`reference_images/stack/`, written by `python3 scripts/sync-stack.py`: edit `reference_images/stack/` and run
the script (the unit tests fail while a copy is stale). In a folder you copied out of the repository, this
copy is yours to edit.
"""


def expected(stack: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(stack.iterdir()) if p.is_file()}
    files[NOTE] = NOTE_TEXT.encode()
    return files


def stale(stack: Path, copy: Path, want: dict[str, bytes]) -> list[str]:
    have = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} if copy.is_dir() else {}
    names = sorted(n for n in want.keys() | have.keys() if want.get(n) != have.get(n))
    # A file whose bytes match but whose executable bit does not (train, serve) is stale too.
    names += sorted(
        n
        for n in want.keys() & have.keys()
        if n != NOTE and want[n] == have[n] and (stack / n).stat().st_mode & 0o111 != (copy / n).stat().st_mode & 0o111
    )
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale copies (exit 1) instead of updating them")
    default = Path(__file__).resolve().parents[1] / "reference_images"
    parser.add_argument("reference", nargs="?", type=Path, default=default, help="the reference_images folder")
    args = parser.parse_args()
    stack = args.reference / "stack"
    want = expected(stack)
    out_of_date = 0
    for folder in sorted(p.parent for p in args.reference.glob("*/algorithm.py")):
        copy = folder / "stack"
        names = stale(stack, copy, want)
        if not names:
            continue
        out_of_date += 1
        shown = ", ".join(f"{folder.name}/stack/{n}" for n in names)
        if args.check:
            print(f"sync-stack: stale: {shown}", file=sys.stderr)
            continue
        copy.mkdir(exist_ok=True)
        for name in names:
            target = copy / name
            if name not in want:
                target.unlink()
            elif name == NOTE:
                target.write_bytes(want[name])
            else:
                shutil.copy2(stack / name, target)  # copy2: the executable bit of train and serve too
        print(f"sync-stack: updated {shown}", file=sys.stderr)
    if args.check and out_of_date:
        print("sync-stack: edit reference_images/stack, then run python3 scripts/sync-stack.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
