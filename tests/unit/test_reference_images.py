"""reference_images/: one folder per image that a user can copy on its own and build with `docker build FOLDER`.

Read as files, without Docker: each folder holds its Dockerfile, README and algorithm, and a copy of the shared
serving stack (reference_images/stack, the one place to edit it) that must not go stale; nothing in the images is
benchmark-only code. tests/docker/test_reference_smoke.py runs the built images.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference_images"
STACK = REFERENCE / "stack"
SYNC = ROOT / "scripts" / "sync-stack.py"
IMAGES = ["decision_trees", "catboost"]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_images_are_the_folders_with_an_algorithm() -> None:
    assert sorted(p.parent.name for p in REFERENCE.glob("*/algorithm.py")) == sorted(IMAGES)


@pytest.mark.parametrize("name", IMAGES)
def test_each_folder_holds_what_a_standalone_build_needs(name: str) -> None:
    folder = REFERENCE / name
    for required in ("Dockerfile", "README.md", "algorithm.py", "requirements.txt", "stack"):
        assert (folder / required).exists(), f"reference_images/{name}/{required} is missing"


def test_there_is_no_shared_dockerfile_left() -> None:
    assert not (REFERENCE / "Dockerfile").exists(), "each image folder has its own Dockerfile"


@pytest.mark.parametrize("name", IMAGES)
def test_the_dockerfile_builds_from_its_own_folder(name: str) -> None:
    folder = REFERENCE / name
    instructions = dockerfile_instructions(folder / "Dockerfile")
    args = [rest for word, rest in instructions if word == "ARG"]
    assert "BASE_IMAGE=python:3.11-slim" in args, "the base defaults to an official image"
    assert not any(arg.startswith("ALGORITHM") for arg in args), "one folder, one image: no ALGORITHM argument"
    for word, rest in instructions:
        if word not in ("COPY", "ADD"):
            continue
        sources = [w for w in shlex.split(rest) if not w.startswith("--")][:-1]
        assert sources, rest
        for source in sources:
            assert not source.startswith(("/", "..")), f"{name}: {word} {rest}: outside the folder"
            assert (folder / source).exists(), f"{name}: {word} {rest}: {source} is not in reference_images/{name}"


@pytest.mark.parametrize("name", IMAGES)
def test_the_stack_copy_matches_the_shared_stack(name: str) -> None:
    """reference_images/stack is the one place to edit the stack; scripts/sync-stack.py copies it into each image."""
    copy = REFERENCE / name / "stack"
    sources = {p.name: p.read_bytes() for p in STACK.iterdir() if p.is_file()}
    copies = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file() and p.name != "README.md"}
    stale = sorted(n for n in sources.keys() | copies.keys() if sources.get(n) != copies.get(n))
    assert not stale, (
        f"reference_images/{name}/stack is stale ({', '.join(stale)}): edit reference_images/stack, "
        "then run python3 scripts/sync-stack.py"
    )
    for executable in ("train", "serve"):
        assert (copy / executable).stat().st_mode & 0o111, f"{name}/stack/{executable} is not executable"


def test_the_sync_script_reports_a_stale_copy(tmp_path: Path) -> None:
    tree = tmp_path / "reference_images"
    (tree / "stack").mkdir(parents=True)
    (tree / "stack" / "app.py").write_text("new\n")
    (tree / "one" / "stack").mkdir(parents=True)
    (tree / "one" / "algorithm.py").write_text("")
    (tree / "one" / "stack" / "app.py").write_text("old\n")
    (tree / "one" / "stack" / "gone.py").write_text("removed from the stack\n")
    check = subprocess.run([sys.executable, str(SYNC), "--check", str(tree)], capture_output=True, text=True)
    assert check.returncode == 1
    assert "one/stack/app.py" in check.stderr
    assert "one/stack/gone.py" in check.stderr
    subprocess.run([sys.executable, str(SYNC), str(tree)], check=True, capture_output=True)
    assert (tree / "one" / "stack" / "app.py").read_text() == "new\n"
    assert not (tree / "one" / "stack" / "gone.py").exists()
    assert "reference_images/stack" in (tree / "one" / "stack" / "README.md").read_text()
    again = subprocess.run([sys.executable, str(SYNC), "--check", str(tree)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr


def test_no_benchmark_code_ships_in_the_images() -> None:
    shipped = [p for p in REFERENCE.rglob("*") if p.is_file() and p.suffix != ".md"]
    assert not [p for p in shipped if p.name == "ceiling.py"], "ceiling.py belongs to benchmarks/"
    mentions = [p.relative_to(ROOT) for p in shipped if re.search(r"benchmark|ceiling", p.read_text(), re.IGNORECASE)]
    assert not mentions, f"benchmark-only code or hooks in the images: {mentions}"
    assert (ROOT / "benchmarks" / "ceiling" / "ceiling.py").is_file()


@pytest.mark.parametrize("name", IMAGES)
def test_the_readme_shows_the_steps_by_hand_and_with_the_sdk(name: str) -> None:
    text = (REFERENCE / name / "README.md").read_text()
    for needle in (
        f"docker build -t {name} .",
        "BASE_IMAGE",
        ":/opt/ml",
        " train",
        "-p 8080:8080",
        " serve",
        "curl",
        "/ping",
        "/invocations",
        f"test-dirs/{name}/payload.csv",
        "image_uri",
        "Estimator(",
        "Model(",
    ):
        assert needle in text, f"reference_images/{name}/README.md does not show {needle!r}"


def test_the_decision_tree_serves_the_scikit_learn_estimator() -> None:
    """No hand-written tree: the model file is the fitted estimator, as scikit-learn users save it."""
    text = (REFERENCE / "decision_trees" / "algorithm.py").read_text()
    assert "joblib.dump(" in text
    assert "joblib.load(" in text
    assert ".predict(" in text
    assert "class Tree" not in text
    assert "children_left" not in text


def test_the_images_share_their_layers_up_to_the_algorithms_requirements() -> None:
    """Identical instructions up to the algorithm's requirements: Docker's cache builds them once for both."""
    algorithm = ("COPY", "requirements.txt /opt/requirements/algorithm.txt")
    prefixes = []
    for name in IMAGES:
        instructions = dockerfile_instructions(REFERENCE / name / "Dockerfile")
        prefixes.append(instructions[: instructions.index(algorithm)])
    assert prefixes[0] == prefixes[1]
    assert ("COPY", "stack/requirements.txt /opt/requirements/stack.txt") in prefixes[0]
