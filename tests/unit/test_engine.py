"""conformance.targets.docker.engine's dealings with testcontainers' settings, without an engine."""

from __future__ import annotations

import pytest
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import Reaper

from conformance.failures import HarnessError
from conformance.targets.docker import engine


def test_a_reaper_that_cannot_start_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> Reaper:
        raise RuntimeError("pull access denied for testcontainers/ryuk")

    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", False)
    monkeypatch.setattr(Reaper, "get_instance", unavailable)
    with pytest.raises(HarnessError) as raised:
        engine.ensure_reaper()
    message = str(raised.value)
    assert f"testcontainers' reaper ({testcontainers_config.ryuk_image}) could not start: pull access denied" in message
    assert "or set TESTCONTAINERS_RYUK_DISABLED=true" in message


def test_a_disabled_reaper_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> Reaper:
        raise AssertionError("the reaper was started although the user disabled it")

    monkeypatch.setattr(testcontainers_config, "ryuk_disabled", True)
    monkeypatch.setattr(Reaper, "get_instance", never)
    engine.ensure_reaper()
