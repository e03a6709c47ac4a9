"""The model archive's extraction (targets/docker/target.extract_data), with and without tarfile's filters: the
model is what the image under test wrote, so nothing in it may land outside the folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from conformance.targets.docker.target import extract_data


def archive(tmp_path: Path, *, link_to: str | None = None) -> Path:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as made:
        data = b"weights"
        member = tarfile.TarInfo("model.pkl")
        member.size = len(data)
        made.addfile(member, io.BytesIO(data))
        if link_to is not None:
            link = tarfile.TarInfo("escape")
            link.type, link.linkname = tarfile.SYMTYPE, link_to
            made.addfile(link)
    return path


@pytest.fixture(params=["with filters", "without filters"])
def filters(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "without filters":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)  # Debian bookworm's Python 3.11.2


@pytest.mark.usefixtures("filters")
def test_a_model_archive_is_extracted(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with tarfile.open(archive(tmp_path)) as made:
        extract_data(made, tmp_path / "out")
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"weights"


@pytest.mark.usefixtures("filters")
def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with tarfile.open(archive(tmp_path, link_to="/etc/passwd")) as made, pytest.raises(tarfile.TarError):
        extract_data(made, tmp_path / "out")
