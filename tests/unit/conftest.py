"""What the unit tests share beyond the fakes (tests/unit/checkfakes.py and its siblings): fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.testdir import load

from .checkfakes import GoodImage, image_info, write_test_dir
from .faketarget import FakeCertification


@pytest.fixture
def certification(tmp_path: Path) -> FakeCertification:
    """A certification of a good image whose report has something to say: arm64 and two waivers (the report tests)."""
    image = GoodImage(info=image_info(architecture="arm64", digests=("example.com/team/model@sha256:" + "cd" * 32,)))
    policy = '[waive]\nIMG-2 = "arm64 endpoints only"\nSRV-6 = "the framework answers 400"\n'
    return FakeCertification(image, load(write_test_dir(tmp_path / "td", policy=policy)), tmp_path / "stage")
