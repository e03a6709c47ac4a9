"""What the unit tests share beyond the fakes (tests/unit/checkfakes.py and its siblings): fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import variables
from conformance.checks import serving, timeouts
from conformance.context import wait_for as real_wait_for
from conformance.testdir import load

from .checkfakes import GoodImage, image_info, write_test_dir
from .faketarget import FakeCertification


@pytest.fixture
def certification(tmp_path: Path) -> FakeCertification:
    """A certification of a good image whose report has something to say: arm64 and two waivers (the report tests)."""
    image = GoodImage(info=image_info(architecture="arm64", digests=("example.com/team/model@sha256:" + "cd" * 32,)))
    policy = '[waive]\nIMG-2 = "arm64 endpoints only"\nSRV-6 = "the framework answers 400"\n'
    return FakeCertification(image, load(write_test_dir(tmp_path / "td", policy=policy)), tmp_path / "stage")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the timed checks short: SRV-13's load lasts 0.3 s, and the waits for settled workers poll without a
    pause (the fakes answer at once)."""
    monkeypatch.setattr(serving, "CONCURRENT_SECONDS", 0.3)
    for module in (variables, timeouts):
        monkeypatch.setattr(
            module, "wait_for", lambda condition, timeout, interval=0.25: real_wait_for(condition, timeout, 0)
        )
