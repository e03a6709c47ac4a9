"""The Docker engine: reaching it, inspecting images, and cleaning up what the harness started.

Everything the harness creates (containers, volumes, networks) carries :data:`LABEL` and the run's
id, so a run removes exactly its own objects, and a later run reaps what an interrupted one left.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import uuid
from typing import Any

import docker
import docker.errors

from conformance.failures import HarnessError
from conformance.targets.results import EngineInfo, ImageInfo

LABEL = "sagemaker-conformance"
RUN_LABEL = "sagemaker-conformance.run"
OWNER_LABEL = "sagemaker-conformance.owner"
"""``host:pid`` of the pytest process that made the object; used to reap leftovers of dead runs."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def labels(run_id: str, role: str) -> dict[str, str]:
    return {LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: owner(), f"{LABEL}.role": role}


def connect() -> tuple[docker.DockerClient, EngineInfo]:
    """A client for the engine that DOCKER_HOST (or the default socket) names, or one clear error."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        version = client.version()
        info = client.info()
    except docker.errors.DockerException as error:
        raise HarnessError(
            f"No Docker engine answers at {where}: {error}.\n"
            "Start one (here: scripts/ensure-docker.sh), or point DOCKER_HOST at a running engine."
        ) from None
    return client, EngineInfo(
        name="Docker",
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        os=str(info.get("OSType", "?")),
        architecture=str(info.get("Architecture", "?")),
        cpus=int(info.get("NCPU", 0)),
        host=where,
    )


def inspect_image(client: docker.DockerClient, reference: str) -> ImageInfo:
    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        raise HarnessError(
            f"Image {reference!r} is not in the engine's image store. Build it (docker build -t {reference} .) "
            f"or pull it (docker pull {reference}) first; the harness never pulls."
        ) from None
    except docker.errors.APIError as error:
        raise HarnessError(f"Could not inspect image {reference!r}: {error}") from None
    attrs: dict[str, Any] = image.attrs
    config: dict[str, Any] = attrs.get("Config") or {}
    return ImageInfo(
        reference=reference,
        id=str(attrs.get("Id", "")),
        digests=tuple(attrs.get("RepoDigests") or ()),
        os=str(attrs.get("Os", "")),
        architecture=str(attrs.get("Architecture", "")),
        variant=str(attrs.get("Variant", "") or ""),
        entrypoint=tuple(config["Entrypoint"]) if config.get("Entrypoint") else None,
        cmd=tuple(config["Cmd"]) if config.get("Cmd") else None,
        env=tuple(config.get("Env") or ()),
        labels=dict(config.get("Labels") or {}),
        user=str(config.get("User") or ""),
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        size=int(attrs.get("Size", 0)),
    )


def create_network(client: docker.DockerClient, labels: dict[str, str], *, internal: bool) -> str:
    """A user-defined bridge network of one run's own, labelled like its containers; returns its name.

    Only on a user-defined network does Docker's DNS resolve network aliases (the training hosts, the server
    the probe dials). ``internal`` is network isolation: traffic cannot leave the network, names outside it do
    not resolve, while the containers on it still reach and resolve each other.
    """
    role = re.sub(r"[^a-z0-9-]", "", labels.get(f"{LABEL}.role", "net"))[:40]
    name = f"smc-{labels.get(RUN_LABEL, 'run')}-{role}-{uuid.uuid4().hex[:6]}"
    client.networks.create(name, driver="bridge", internal=internal, labels=dict(labels))
    return name


def remove_network(client: docker.DockerClient, name: str) -> None:
    """Remove a network once its containers are gone; a leftover is reaped with the run's other objects."""
    with contextlib.suppress(docker.errors.APIError):
        client.networks.get(name).remove()


def ensure_reaper() -> None:
    """Start testcontainers' reaper (Ryuk) now, unless the user disabled it, so that an engine that cannot provide its
    image is one clear error before the first check rather than a crash in every one. The harness needs no reaper
    (it labels its containers and removes them, and sweeps the orphans of dead runs), so whether it runs stays the
    user's setting, shared with their own testcontainers tests."""
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import Reaper

    if testcontainers_config.ryuk_disabled:
        return
    try:
        Reaper.get_instance()
    except Exception as error:
        raise HarnessError(
            f"testcontainers' reaper ({testcontainers_config.ryuk_image}) could not start: {error}. Make that image "
            "available to the engine, or set TESTCONTAINERS_RYUK_DISABLED=true: the harness removes its own "
            "containers either way (they carry the run's label)."
        ) from None


def cleanup(client: docker.DockerClient, run_id: str) -> int:
    """Remove every container, volume and network of one run; returns how many containers went."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return _remove(client, selector)


def reap_orphans(client: docker.DockerClient) -> int:
    """Remove what runs on this host left behind when they were killed (their pid is gone)."""
    host = socket.gethostname()
    dead: set[str] = set()
    with contextlib.suppress(docker.errors.APIError):
        objects = [
            *client.containers.list(all=True, filters={"label": LABEL}),
            *client.volumes.list(filters={"label": LABEL}),
            *client.networks.list(filters={"label": LABEL}),
        ]
        for item in objects:
            item_labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            mark = item_labels.get(OWNER_LABEL, "")
            name, _, pid = mark.rpartition(":")
            if name == host and pid.isdigit() and not _alive(int(pid)):
                dead.add(item_labels.get(RUN_LABEL, ""))
    return sum(_remove(client, {"label": f"{RUN_LABEL}={run}"}) for run in dead if run)


def _remove(client: docker.DockerClient, selector: dict[str, str]) -> int:
    removed = 0
    with contextlib.suppress(docker.errors.APIError):
        for container in client.containers.list(all=True, filters=selector):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
                removed += 1
    with contextlib.suppress(docker.errors.APIError):
        for volume in client.volumes.list(filters=selector):
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
    with contextlib.suppress(docker.errors.APIError):
        for network in client.networks.list(filters=selector):
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
