"""The repository is its own source of truth: every relative link in its Markdown resolves inside it, and no
text cites a document it does not hold or a path of one machine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", ".tox", "node_modules", "reports", "build", "dist", ".mypy_cache", ".ruff_cache"}

_INLINE = re.compile(r"(?<!\!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")


def repository_files(suffixes: tuple[str, ...] | None = None) -> list[Path]:
    """The repository's files: git's list when this is a checkout, else a walk that skips tool folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        files = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in ROOT.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)]
    return sorted(p for p in files if p.is_file() and (suffixes is None or p.suffix in suffixes))


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings (lower case, punctuation dropped, spaces to hyphens)."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        base, n = slug, 1
        while slug in anchors:
            slug, n = f"{base}-{n}", n + 1
        anchors.add(slug)
    return anchors


def links(text: str) -> list[str]:
    prose = _CODE.sub("", _FENCE.sub("", text))
    return _INLINE.findall(prose) + _IMAGE.findall(prose) + _REFERENCE.findall(prose)


MARKDOWN = repository_files((".md",))


def test_the_docs_that_must_exist_do() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in MARKDOWN}
    assert {"README.md", "docs/clauses.md", "CHANGELOG.md"} <= names


@pytest.mark.parametrize("document", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    broken = []
    for target in links(document.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # https:, mailto: ...: not the repository's business
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if ROOT not in (resolved, *resolved.parents):
            broken.append(f"{target}: leaves the repository")
        elif not resolved.exists():
            broken.append(f"{target}: {resolved.relative_to(ROOT)} does not exist")
        elif fragment and resolved.suffix == ".md" and fragment not in heading_anchors(resolved.read_text()):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{document.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_the_link_finder_sees_inline_reference_and_image_links_but_not_code() -> None:
    text = "a [x](docs/a.md#b) b ![i](img.png) `[no](code.md)`\n```\n[no](fenced.md)\n```\n[ref]: ../up.md\n"
    assert sorted(links(text)) == ["../up.md", "docs/a.md#b", "img.png"]
    assert heading_anchors("# The clauses\n## IMG-1\n## What `x` does, twice\n## IMG-1\n") == {
        "the-clauses",
        "img-1",
        "what-x-does-twice",
        "img-1-1",
    }


# Keys of research notes that are not in the repository ("A4", "B9", "peers P6", "D-W1", "SPEC.md"), and paths
# that exist on one machine only. /home/model-server is a path inside TorchServe's images (process-table fixtures),
# the same on every machine.
FOREIGN = re.compile(
    r"SPEC\.md|\bSPEC\b|research/|contract\.md|\bpeers\b|\bD-W\d|§\d|"
    r"\((?:[A-G]\d{1,2}|P\d{1,2})(?:[,\-–]\s*(?:[A-G]\d{1,2}|P\d{1,2}))*\)|"
    r"/work/|/root/|/home/(?!model-server\b)\w|pytest-of-\w"
)
TEXT_SUFFIXES = (".md", ".py", ".sh", ".toml", ".txt", ".yml", ".yaml", ".ini", ".cfg", ".json", "")


def test_no_text_cites_a_document_outside_the_repository_or_a_machine_path() -> None:
    this = Path(__file__).resolve()
    found = []
    for path in repository_files(TEXT_SUFFIXES):
        if path.resolve() == this or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = FOREIGN.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r} in {line.strip()[:100]}")
    assert not found, "cite the URL or the in-repo doc instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "see SPEC.md",
        "(A4, A20)",
        "(peers P6)",
        "D-W1 pandas",
        "(B9)",
        "/work/shared/x",
        "/root/.cache",
        "(P8-P10)",
        "-v /tmp/pytest-of-root/pytest-75/x:/opt/ml/model",
    ],
)
def test_the_foreign_citation_pattern_catches(line: str) -> None:
    assert FOREIGN.search(line)


@pytest.mark.parametrize("line", ["A4 paper", "SRV-9 [SHOULD]", "(DG_INF)", "/opt/ml/model", "exit 2 (B)", "x(1)"])
def test_the_foreign_citation_pattern_lets_pass(line: str) -> None:
    assert not FOREIGN.search(line)
