"""The plugin's tests' fixtures: a test-dir, the fake engine, and the Docker engine with the base image."""

from __future__ import annotations

from pathlib import Path

import docker
import docker.errors
import pytest

from .runs import BASE_IMAGE, ROOT, write_test_dir


@pytest.fixture
def test_dir(pytester: pytest.Pytester) -> Path:
    return write_test_dir(pytester.path / "iris")


@pytest.fixture
def fake(pytester: pytest.Pytester) -> str:
    """The option that gives the plugin the fake engine (tests/unit/faketarget.py), importable as this module imports
    it."""
    pytester.syspathinsert(ROOT / "tests")
    return "--target-factory=unit.faketarget:connect"


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.fail(f"these tests need the Docker engine (scripts/ensure-docker.sh): {error}")
    return client


@pytest.fixture(scope="module")
def base_image(engine: docker.DockerClient) -> str:
    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE_IMAGE} is not in the engine's image store: run scripts/build-base.sh")
    return BASE_IMAGE
