"""Docker networks and volumes as the targets use them, and as a failure's commands to reproduce spell them."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import docker
from docker.types import EndpointConfig, Mount

from conformance import contract


def volume_mounts(client: docker.DockerClient, labels: Mapping[str, str], paths: tuple[str, ...]) -> list[Mount]:
    """Fresh, empty volumes over ``paths``; ``no_copy`` keeps the image's own files there out of them."""
    mounts = []
    for path in paths:
        volume = client.volumes.create(labels=dict(labels))
        mounts.append(Mount(path, volume.name, type="volume", no_copy=True))
    return mounts


REPRODUCE_NETWORK: Final = "smc-net"
"""The network's name in the commands to reproduce a run (the harness's own networks are gone by then)."""


REPRODUCE_SHARED: Final = "smc-first"
"""The name of the container whose network namespace a neighbour joins, in the commands to reproduce (ENV-6)."""


def reproduce_network(name: str, internal: bool) -> str:
    """Create the network unless an earlier command did: runs of one clause share it."""
    create = "docker network create" + (" --internal" if internal else "") + f" {name}"
    return f"docker network inspect {name} >/dev/null 2>&1 || {create}"


def network_kwargs(client: docker.DockerClient, network: str, aliases: tuple[str, ...]) -> dict[str, Any]:
    """``docker run --network NETWORK --network-alias ALIAS...`` as ``containers.create`` arguments."""
    endpoint = EndpointConfig(client.api.api_version, aliases=list(aliases))
    return {"network": network, "networking_config": {network: endpoint}}


def populate_volume(
    client: docker.DockerClient, image: str, volume: str, source: Path, labels: Mapping[str, str]
) -> None:
    """Fill ``volume`` with the files under ``source`` through a never-started container of ``image``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(source.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
    loader = client.containers.create(
        image,
        command=["true"],
        labels=dict(labels),
        mounts=[Mount(contract.MODEL_DIR, volume, type="volume", no_copy=True)],
    )
    try:
        loader.put_archive(contract.MODEL_DIR, buffer.getvalue())
    finally:
        loader.remove(force=True)
