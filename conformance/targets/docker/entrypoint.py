"""The wrapper-entrypoint probe on a Docker engine: the image run with a stub first on PATH (the method is
:mod:`conformance.entrypoint`'s)."""

from __future__ import annotations

import shlex
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import docker
import docker.errors

from conformance.entrypoint import (
    PROBE_BUDGET_S,
    STUB_DIR,
    ArgumentProbe,
    argument_holder,
    stub_archive,
    stub_report,
)


def _top(container: Any) -> list[str]:
    try:
        table = container.top()
    except docker.errors.APIError:
        return []
    titles = [str(t) for t in table.get("Titles") or []]
    column = titles.index("CMD") if "CMD" in titles else len(titles) - 1
    return [str(row[column]) for row in table.get("Processes") or [] if len(row) > column]


def probe_argument(
    client: docker.DockerClient,
    image: str,
    *,
    entrypoint: Sequence[str],
    shell: str,
    path: Sequence[str],
    argument: str,
    names: Sequence[str],
    decoy_folders: Sequence[str] = (),
    labels: Mapping[str, str],
    budget: float = PROBE_BUDGET_S,
) -> ArgumentProbe:
    """Run ``image`` with its own ENTRYPOINT and ``argument``, a stub ``argument`` first on PATH (see the module)."""
    token = uuid.uuid4().hex[:12]
    search = ":".join([STUB_DIR, *path])
    container: Any = client.containers.create(
        image,
        command=[argument],
        environment={"PATH": search},
        network_mode="none",
        labels=dict(labels),
    )
    stubs = " ".join(names)
    decoys = "".join(f" -v /tmp/probe-empty:{folder}:ro" for folder in decoy_folders)
    reproduce = (
        f"mkdir -p /tmp/probe /tmp/probe-empty && for n in {stubs}; do printf '#!{shell}\\necho \"reached: $0 $*\"\\n' "
        '> "/tmp/probe/$n" && chmod +x "/tmp/probe/$n"; done',
        f"docker run --rm --network none -v /tmp/probe:{STUB_DIR}:ro{decoys} -e PATH={shlex.quote(search)} "
        f"{image} {argument}",
    )
    started = time.monotonic()
    processes: list[str] = []
    via = ""
    exit_code: int | None = None
    try:
        container.put_archive("/", stub_archive(shell, token, names, decoy_folders))
        container.start()
        while True:
            container.reload()
            if container.status in ("exited", "dead"):
                exit_code = int(container.attrs["State"].get("ExitCode", -1))
                break
            seen = _top(container)
            processes = seen or processes
            holder = argument_holder(seen, argument, entrypoint)
            if holder is not None:
                via = f"the process `{holder}`"
                break
            # A stub may have run while the wrapper goes on (`"$@"` without exec): its report is enough.
            if stub_report(container.logs().decode("utf-8", "replace"), token) is not None:
                break
            if time.monotonic() - started >= budget:
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        logs = container.logs().decode("utf-8", "replace")
        report = stub_report(logs, token)
        other = ""
        if report is not None and report[0] == argument:
            via = f"the stub `{argument}` on PATH, which reported: {report[1]}"
        elif report is not None:
            other = report[0]
        return ArgumentProbe(argument, bool(via), via, seconds, exit_code, logs, tuple(processes), reproduce, other)
    finally:
        try:
            container.remove(force=True)
        except docker.errors.APIError:
            pass
