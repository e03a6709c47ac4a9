"""The target Protocols, the sharing rules, the checks and the plugin import nothing of Docker: another engine (or the
unit tests' fake) implements the targets without the docker package installed, and a pytest session that certifies
nothing (the plugin loads in every one) imports no engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import conformance

ROOT = Path(conformance.__file__).resolve().parents[1]
"""The checkout whose code the subprocess imports (this one, not another install)."""
NEUTRAL = (
    "conformance.targets",
    "conformance.targets.results",
    "conformance.servers",
    "conformance.sharing",
    "conformance.checks",
    "conformance.plugin",
)


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def test_the_engine_neutral_modules_import_without_docker() -> None:
    # A None entry in sys.modules makes `import docker` (and `import docker.errors`) raise ImportError.
    script = "import sys\nsys.modules['docker'] = None\n" + "".join(f"import {name}\n" for name in NEUTRAL)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr


def test_the_docker_target_does_need_docker() -> None:
    """The same guard stops the Docker target, so the test above would catch a transitive import."""
    script = "import sys\nsys.modules['docker'] = None\nimport conformance.targets.docker.target\n"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert run.returncode != 0
    assert "docker" in run.stderr
