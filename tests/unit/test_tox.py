"""tox.ini: the environments the README promises, and that each one starts what it needs itself.

No tox run here (that is `tox` itself, minutes long): the file is read as tox reads it, an ini file, and
checked for the shape that makes `tox` and `tox p` work on a fresh machine.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_IMAGES = sorted(p.parent.name for p in (ROOT / "reference_images").glob("*/Dockerfile"))


@pytest.fixture(scope="module")
def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def section(tox: configparser.ConfigParser, env: str) -> configparser.SectionProxy:
    """The section that defines ``env``, including tox's generative ``testenv:{a,b}`` form."""
    for name in tox.sections():
        if not name.startswith("testenv:"):
            continue
        spec = name.removeprefix("testenv:")
        names = spec.strip("{}").split(",") if spec.startswith("{") else [spec]
        if env in (n.strip() for n in names):
            return tox[name]
    raise AssertionError(f"tox.ini defines no environment {env!r}")


def test_tox_alone_runs_lint_types_tests_every_reference_image_and_the_catalogue(
    tox: configparser.ConfigParser,
) -> None:
    envlist = [e.strip() for e in tox["tox"]["envlist"].split(",")]
    assert envlist[:3] == ["lint", "type", "unit"]
    assert set(REFERENCE_IMAGES) <= set(envlist), "one environment per reference image"
    assert "catalogue" in envlist
    assert "certify" not in envlist, "certify needs the user's --image, so it is run by name only"


def test_every_environment_that_needs_the_engine_starts_it(tox: configparser.ConfigParser) -> None:
    # Each script named here runs scripts/ensure-docker.sh first, so no environment relies on another's order.
    starts_engine = ("ensure-docker.sh", "build-base.sh", "build-images.sh", "build-broken-images.sh")
    for env in ["unit", "certify", "catalogue", "sdk", *REFERENCE_IMAGES]:
        pre = section(tox, env).get("commands_pre", "")
        assert any(script in pre for script in starts_engine), f"{env}: commands_pre starts no engine"
    for script in starts_engine[1:]:
        assert "ensure-docker.sh" in (ROOT / "scripts" / script).read_text(), f"{script} does not start the engine"


def test_unit_builds_the_base_its_plugin_tests_build_on(tox: configparser.ConfigParser) -> None:
    assert "build-base.sh" in section(tox, "unit")["commands_pre"]


def test_each_reference_image_env_builds_and_certifies_its_own_image(tox: configparser.ConfigParser) -> None:
    for env in REFERENCE_IMAGES:
        body = section(tox, env)
        assert "build-images.sh {envname}" in body["commands_pre"]
        assert "--image=sagemaker-conformance/{envname}:latest" in body["commands"]
        assert "{posargs}" in body["commands"]


def test_sdk_builds_both_images_installs_the_sdk_apart_and_runs_the_local_mode_tests(
    tox: configparser.ConfigParser,
) -> None:
    assert "sdk" in [e.strip() for e in tox["tox"]["envlist"].split(",")]
    body = section(tox, "sdk")
    pre = body["commands_pre"]
    assert "build-images.sh" in pre
    assert "build-images.sh {envname}" not in pre, "both reference images, not one named sdk"
    assert "ensure-sdk.sh" in pre
    assert body["commands"].split()[:2] == ["pytest", "tests/sdk"]
    assert "sagemaker" not in body.get("deps", ""), "the SDK lives in its own venv, not in the tox environment"


def test_certify_passes_the_users_arguments_to_the_same_plugin(tox: configparser.ConfigParser) -> None:
    commands = section(tox, "certify")["commands"]
    assert commands.split()[0] == "pytest"
    assert "{posargs}" in commands
    assert "--conformance-report" in commands


def test_ryuk_is_off_and_docker_settings_pass_through(tox: configparser.ConfigParser) -> None:
    base = tox["testenv"]
    assert "TESTCONTAINERS_RYUK_DISABLED = true" in base["setenv"]
    assert "DOCKER_HOST" in base["passenv"]


def test_engine_and_build_scripts_serialise_parallel_callers() -> None:
    # `tox p` runs environments at once; two apt-get runs or two debootstraps at a time would collide.
    for script in ("ensure-docker.sh", "build-base.sh", "build-images.sh"):
        assert "flock" in (ROOT / "scripts" / script).read_text(), f"{script} takes no lock"
