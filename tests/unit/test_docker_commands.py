"""The Docker target's "Reproduce with" commands for the image, rendered without an engine: the ones the checks
used to write themselves (docs/clauses.md shows them in real failures)."""

from __future__ import annotations

from conformance.targets.docker.target import ImageCommands

IMAGE = "smc-broken/img4-runs-as-app-user:latest"


def test_the_image_config_is_shown_with_docker_image_inspect() -> None:
    commands = ImageCommands(IMAGE)
    assert commands.show_config("os", "architecture") == (
        f"docker image inspect --format '{{{{.Os}}}}/{{{{.Architecture}}}}' {IMAGE}"
    )
    assert commands.show_config("user") == f"docker image inspect --format '{{{{.Config.User}}}}' {IMAGE}"
    assert commands.show_config("env") == f"docker image inspect --format '{{{{json .Config.Env}}}}' {IMAGE}"


def test_a_command_runs_in_place_of_the_entrypoint() -> None:
    commands = ImageCommands(IMAGE)
    assert commands.run("id") == f"docker run --rm --entrypoint id {IMAGE}"
    assert commands.run("ls", "-laR", "/opt/ml/model") == f"docker run --rm --entrypoint ls {IMAGE} -laR /opt/ml/model"


def test_a_rebuild_names_the_platform() -> None:
    assert ImageCommands(IMAGE).build("linux/amd64") == "docker buildx build --platform linux/amd64 -t IMAGE ."
