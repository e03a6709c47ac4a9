"""The wheel users install, tried as a user would: built with `python -m build`, installed into a fresh venv in a
temporary folder outside the checkout, and run from there against real images.

- The console script certifies the decision-tree reference image (exit 0, the friendly summary, the report) and
  fails a catalogue image (exit 1, the failed clause named); an image that does not exist is not judged (exit 2).
- `pytest --pyargs conformance --image=... --test-dir=...` works from the installed package alone.

Cost: the build and the venv take seconds with pip's cache (the first run downloads the dependencies); the
certification of the reference image about 20 to 40 s; the broken image is judged on its own clause only.
Needs a Docker engine, sagemaker-conformance/decision_trees:latest (scripts/build-images.sh decision_trees)
and smc-broken/srv9-nginx-1m-body-limit:latest (scripts/build-broken-images.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import __version__
from conformance.registry import clauses, with_needs

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = "sagemaker-conformance/decision_trees:latest"
BROKEN = "smc-broken/srv9-nginx-1m-body-limit:latest"
FAST = "--max-examples=5"


@dataclass
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    test_dir: Path
    work: Path

    def run(self, program: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        # Nothing of the checkout leaks in: no outer pytest state, no PYTHONPATH, the venv's own programs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k not in ("PYTHONPATH",)}
        env.update(VIRTUAL_ENV=str(self.venv), PATH=f"{self.venv / 'bin'}:{env.get('PATH', '')}")
        env["TESTCONTAINERS_RYUK_DISABLED"] = "true"
        command = [str(self.venv / "bin" / program), *args]
        return subprocess.run(command, cwd=self.work, env=env, capture_output=True, text=True, timeout=timeout)


def docker_has(reference: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", reference], capture_output=True, check=False)
    return found.returncode == 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no Docker engine ({probe.stderr.strip()[:200]}); run scripts/ensure-docker.sh")
    if not docker_has(REFERENCE):
        pytest.fail(f"{REFERENCE} is not built: run scripts/build-images.sh decision_trees", pytrace=False)
    base = tmp_path_factory.mktemp("wheel")
    assert ROOT not in base.parents, "the test must run outside the checkout"
    # Build from a copy holding only what the package needs, so the checkout gets no build/ or egg-info.
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "conformance", source / "conformance", ignore=shutil.ignore_patterns("__pycache__"))
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)], capture_output=True, text=True, check=False
    )
    assert build.returncode == 0, f"python -m build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    wheel = next(dist.glob("*.whl"))
    sdist = next(dist.glob("*.tar.gz"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    # pip's cache (the default) makes the dependencies cheap after the first run.
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert pip.returncode == 0, f"pip install of the wheel failed:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"
    test_dir = base / "my-test-dir"
    shutil.copytree(ROOT / "test-dirs" / "decision_trees", test_dir)
    work = base / "work"
    work.mkdir()
    return Installed(wheel, sdist, venv, test_dir, work)


def test_the_wheel_and_the_sdist_carry_the_schema_the_types_and_the_command(installed: Installed) -> None:
    assert installed.wheel.name == f"sagemaker_conformance-{__version__}-py3-none-any.whl"
    assert installed.sdist.name == f"sagemaker_conformance-{__version__}.tar.gz"
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(f"sagemaker_conformance-{__version__}.dist-info/entry_points.txt").decode()
    assert {"conformance/report.schema.json", "conformance/py.typed", "conformance/cli.py"} <= names
    assert "sagemaker-conformance = conformance.cli:main" in entry_points
    assert "sagemaker_conformance = conformance.plugin" in entry_points
    with tarfile.open(installed.sdist) as sdist:
        members = {Path(m).relative_to(f"sagemaker_conformance-{__version__}").as_posix() for m in sdist.getnames()}
    assert {"conformance/report.schema.json", "conformance/py.typed", "pyproject.toml"} <= members
    where = installed.run("python", "-c", "import conformance; print(conformance.__file__, conformance.__version__)")
    path, version = where.stdout.split()
    assert Path(path).is_relative_to(installed.venv), f"imported from {path}, not from the venv"
    assert version == __version__


def test_the_console_script_certifies_the_reference_image(installed: Installed) -> None:
    # One clause and what it needs (train, serve, invoke) proves the installed command end to end; the full
    # certification of this image is the catalogue's (tests/docker/test_catalogue.py).
    done = installed.run(
        "sagemaker-conformance", REFERENCE, "--test-dir", str(installed.test_dir), FAST, "--clause", "SRV-3"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    report = installed.work / "conformance-reports" / "sagemaker-conformance_decision_trees_latest.json"
    summary = output[output.rindex("sagemaker-conformance: ") :]
    assert summary.splitlines() == [
        f"sagemaker-conformance: CERTIFIED {REFERENCE}: every MUST and SHOULD clause of the "
        f"{len(with_needs(['SRV-3']))} selected (of {len(list(clauses()))}) passed.",
        f"  Report: {report.relative_to(installed.work)}",
    ]
    document = json.loads(report.read_text())
    assert (document["verdict"], document["tool"]["version"]) == ("passed", __version__)
    assert document["test_dir"] == str(installed.test_dir)
    assert f"rootdir: {installed.work}" in output, "the run is rooted where the user is, not in the checkout"


def test_the_console_script_fails_a_broken_image(installed: Installed) -> None:
    if not docker_has(BROKEN):
        pytest.fail(f"{BROKEN} is not built: run scripts/build-broken-images.sh", pytrace=False)
    reports = installed.work / "broken-reports"
    done = installed.run(
        "sagemaker-conformance", BROKEN, f"--test-dir={installed.test_dir}", f"--conformance-report={reports}",
        "-k", "SRV-9", FAST,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-6000:]
    assert f"sagemaker-conformance: FAILED {BROKEN}: 1 clause(s) failed: SRV-9." in output
    assert "    SRV-9 [SHOULD] A valid payload of about 6,000,000 bytes is accepted\n" in output
    assert "        A valid payload InvokeEndpoint accepts was refused as too large (413)\n" in output
    assert "        Actual: 413 Request Entity Too Large\n" in output
    assert f"  Report: {reports / 'smc-broken_srv9-nginx-1m-body-limit_latest.json'}" in output


def test_an_image_that_does_not_exist_is_not_judged(installed: Installed) -> None:
    done = installed.run("sagemaker-conformance", "smc-no-such-image/x:latest", "--test-dir", str(installed.test_dir))
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "COULD NOT JUDGE smc-no-such-image/x:latest" in done.stdout


def test_pytest_pyargs_runs_the_installed_suite(installed: Installed) -> None:
    done = installed.run(
        "pytest", "--pyargs", "conformance", f"--image={REFERENCE}", f"--test-dir={installed.test_dir}",
        "-p", "no:cacheprovider", "-k", "IMG-1 or IMG-2",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout
    assert f"plugins: sagemaker-conformance-{__version__}" in done.stdout
