"""The SageMaker Python SDK proof (tests/sdk) is part of the README's test command, and stays out of the package.

Read as files: running them is tests/sdk/test_local_mode.py's job.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
ENSURE_SDK = ROOT / "scripts" / "ensure-sdk.sh"
HEAVY = ("sagemaker", "boto3", "botocore", "docker-compose")


def test_the_sdk_is_no_dependency_of_the_package_nor_of_its_dev_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    names = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}
    assert names.isdisjoint(HEAVY), f"the SDK's dependencies leaked into pyproject.toml: {names & set(HEAVY)}"


def test_ensure_sdk_pins_the_last_2x_release_in_a_venv_of_its_own() -> None:
    script = ENSURE_SDK.read_text()
    pinned = re.search(r"SMC_SDK_VERSION:-(\d+)\.(\d+)\.(\d+)", script)
    assert pinned, "ensure-sdk.sh pins an exact SDK version"
    assert pinned.group(1) == "2", "local mode's LocalSession / Estimator API is the 2.x one"
    assert '"sagemaker[local]==$version"' in script
    assert "SMC_SDK_VENV:-$root/.venv-sdk" in script, "the SDK goes into its own venv, never .venv"
    assert "docker-compose" in script, "it installs the Compose that local mode calls"
    assert ".venv-sdk/" in (ROOT / ".gitignore").read_text()


def test_the_readme_test_command_installs_the_sdk_before_it_runs_the_tests() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "ensure-sdk.sh" in script
    assert script.index("ensure-sdk.sh") < script.index("-m pytest tests")
    assert (ROOT / "tests" / "sdk" / "test_local_mode.py").is_file()
