"""Looking at an image's files without running it: a created, never-started container.

IMG-1 resolves ``train`` / ``serve`` on the image's PATH and IMG-3 lists what the image bakes into
the directories SageMaker replaces; neither runs any of the image's code.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import posixpath
import stat
import tarfile
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

import docker
import docker.errors

from conformance.targets.results import PathStat

GO_DIR: Final = 1 << 31
GO_SYMLINK: Final = 1 << 27
"""The engine reports a path's mode as Go's ``os.FileMode``: these bits, over the Unix permission bits."""


def path_stat(path: str, mode: int, link_target: str) -> PathStat:
    """A stat as the archive API's ``X-Docker-Container-Path-Stat`` header gives it."""
    is_dir = bool(mode & GO_DIR)
    return PathStat(
        path,
        is_dir=is_dir,
        is_symlink=bool(mode & GO_SYMLINK),
        executable=not is_dir and bool(stat.S_IMODE(mode) & 0o111),
        link_target=link_target,
    )


class ImageFiles:
    """A never-started container of an image, for stat and listing through the archive API."""

    def __init__(self, client: docker.DockerClient, image: str, labels: Mapping[str, str]) -> None:
        self.client = client
        self.container: Any = client.containers.create(image, command=["true"], labels=dict(labels))

    def __enter__(self) -> ImageFiles:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self.container.remove(force=True)

    def stat(self, path: str) -> PathStat | None:
        # HEAD of the archive endpoint: the path's stat without its contents (docker-py's get_archive would GET them).
        api = self.client.api
        url = f"{api.base_url}/v{api.api_version}/containers/{self.container.id}/archive"
        response = api.head(url, params={"path": path})
        if response.status_code != 200:
            return None
        header = response.headers.get("X-Docker-Container-Path-Stat", "")
        info = json.loads(base64.b64decode(header)) if header else {}
        return path_stat(path, int(info.get("mode", 0)), str(info.get("linkTarget", "")))

    def resolve(self, path: str, hops: int = 8) -> PathStat | None:
        """Follow symlinks to the file a path names, as exec would."""
        current = self.stat(path)
        while current is not None and current.is_symlink and hops > 0:
            target = current.link_target
            if not posixpath.isabs(target):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(current.path), target))
            current = self.stat(target)
            hops -= 1
        return current

    def which(self, name: str, path: tuple[str, ...]) -> PathStat | None:
        """What ``exec`` finds for ``name``: an absolute path as is, else the first executable on PATH."""
        candidates = [name] if name.startswith("/") else [posixpath.join(d, name) for d in path]
        for candidate in candidates:
            found = self.resolve(candidate)
            if found is not None and found.executable:
                return found
        return None

    def read(self, path: str) -> bytes | None:
        """The content of the regular file at ``path`` (IMG-4 reads /etc/passwd); None when there is none."""
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.next()
            extracted = archive.extractfile(member) if member is not None and member.isfile() else None
            return extracted.read() if extracted is not None else None

    def sizes_under(self, path: str) -> dict[str, int]:
        """Size of each file (not directory) the image holds under ``path``; -1 for a link or any other
        non-regular file, which may stand for content elsewhere."""
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            return {}
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            parent = posixpath.dirname(path.rstrip("/"))
            return {
                posixpath.join(parent, m.name): m.size if m.isfile() else -1
                for m in archive.getmembers()
                if not m.isdir()
            }
