"""HTTP from inside a Docker network: how the harness speaks to a server on an internal network (SRV-14).

A container on an internal network cannot be reached from the host in general: Docker Desktop and rootless
Docker run the engine in a VM or a namespace of their own, where the container's IP means nothing to the
host, and an internal network publishes no ports. So the requests start inside the network instead, from a
probe container that dials the server by its network alias, and the answers come back through the engine's
API (``docker exec``), which works wherever the engine is.

The probe runs the image under test, with its entrypoint replaced by that image's own ``python3``: the image
is certainly in the engine's store (the harness never pulls), it runs on the engine's platform, and machine
learning images ship Python. The client is the standard library's ``http.client``; the request body is
copied into the probe through the archive API, never bind-mounted. An image without ``python3`` cannot host
the probe, and the clause that needs it says so (skipped) instead of guessing.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Protocol

import docker
import docker.errors

from conformance.http import Exchange

SERVER_ALIAS: Final = "model-server"
"""The serving container's name on the internal network, as the probe dials it."""
INTERPRETER: Final = "python3"
BODY_DIR: Final = "smc-probe"
"""Where request bodies are copied in the probe (under ``/``, which every image has)."""

NO_INTERPRETER: Final = (
    f"the image has no {INTERPRETER} on its PATH to run the probe that reaches the server on its internal network "
    "(the host cannot reach that network on every platform)"
)
IDLE: Final = "import time\nwhile True:\n    time.sleep(3600)\n"
"""The probe's PID 1: it only waits for ``docker exec``; it is removed with SIGKILL, never stopped."""

CLIENT: Final = """\
import base64, http.client, json, sys, time
a = json.loads(sys.argv[1])
body = None
if a["body"]:
    with open(a["body"], "rb") as f:
        body = f.read()
started = time.time()
try:
    c = http.client.HTTPConnection(a["host"], a["port"], timeout=a["timeout"])
    c.request(a["method"], a["path"], body=body, headers=a["headers"])
    r = c.getresponse()
    data = r.read()
    out = {"status": r.status, "reason": r.reason, "headers": r.getheaders(),
           "body": base64.b64encode(data).decode("ascii")}
except Exception as e:
    out = {"error": "%s: %s" % (type(e).__name__, e)}
out["elapsed"] = time.time() - started
sys.stdout.write(json.dumps(out))
"""
"""The request, run by the probe's python3: standard library only, and no syntax newer than Python 3.6."""


class Files(Protocol):
    def which(self, name: str, path: tuple[str, ...]) -> Any: ...


def interpreter(files: Files, path: tuple[str, ...]) -> str | None:
    """The image's ``python3`` on its PATH (as ``docker exec`` would find it), or None."""
    found = files.which(INTERPRETER, path)
    return str(found.path) if found is not None else None


def exchange_from(
    output: str,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    payload_file: Path | None = None,
) -> Exchange:
    """The probe's JSON answer as an :class:`Exchange`; anything else it printed is a transport error."""
    sent = dict(headers)
    try:
        answer = json.loads(output)
        elapsed = float(answer.get("elapsed", 0.0))
    except (ValueError, AttributeError, TypeError):
        error = f"the probe container gave no answer: {output.strip()[:500] or '(no output)'}"
        return Exchange(method, url, sent, body, None, "", {}, b"", 0.0, error=error, payload_file=payload_file)
    if "error" in answer:
        return Exchange(
            method, url, sent, body, None, "", {}, b"", elapsed, error=str(answer["error"]), payload_file=payload_file
        )
    received: dict[str, str] = {}
    for name, value in answer["headers"]:
        key = str(name).lower()
        received[key] = f"{received[key]}, {value}" if key in received else str(value)
    return Exchange(
        method=method,
        url=url,
        request_headers=sent,
        request_body=body,
        status=int(answer["status"]),
        reason=str(answer["reason"]),
        headers=received,
        body=base64.b64decode(answer["body"]),
        elapsed=elapsed,
        payload_file=payload_file,
    )


class NetworkProbe:
    """A client container on one network: ``send`` makes one HTTP request from inside it."""

    def __init__(
        self, client: docker.DockerClient, image: str, python: str, network: str, labels: Mapping[str, str]
    ) -> None:
        self.client = client
        self.image = image
        self.python = python
        self.network = network
        self.labels = dict(labels)
        self._container: Any = None
        self._bodies = itertools.count(1)

    def start(self) -> NetworkProbe:
        self._container = self.client.containers.run(
            self.image,
            entrypoint=[self.python, "-I", "-c", IDLE],
            command=[],
            detach=True,
            network=self.network,
            labels=self.labels,
        )
        return self

    def send(
        self,
        method: str,
        host: str,
        port: int,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 70.0,
        payload_file: Path | None = None,
    ) -> Exchange:
        """One request to ``http://host:port/path`` from inside the network; failures become the Exchange's
        error, as :func:`conformance.http.send` reports them."""
        url = f"http://{host}:{port}{path}"
        sent = dict(headers or {})
        request: dict[str, Any] = {
            "method": method,
            "host": host,
            "port": port,
            "path": path,
            "headers": sent,
            "timeout": timeout,
            "body": None,
        }
        try:
            if body:
                name = f"{BODY_DIR}/body-{next(self._bodies)}"
                self._container.put_archive("/", _tar(name, body))
                request["body"] = f"/{name}"
            _, (stdout, stderr) = self._container.exec_run(
                [self.python, "-I", "-c", CLIENT, json.dumps(request)], demux=True
            )
        except docker.errors.APIError as error:
            return Exchange(
                method, url, sent, body, None, "", {}, b"", 0.0, error=f"the probe container failed: {error}"
            )
        output = (stdout or b"").decode("utf-8", "replace") or (stderr or b"").decode("utf-8", "replace")
        return exchange_from(output, method=method, url=url, headers=sent, body=body, payload_file=payload_file)

    def remove(self) -> None:
        if self._container is not None:
            with contextlib.suppress(docker.errors.APIError):
                self._container.remove(force=True)
            self._container = None


def _tar(name: str, data: bytes) -> bytes:
    """A tar archive of one file (and its folder), readable by any user the image runs as."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(name.rsplit("/", 1)[0])
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
