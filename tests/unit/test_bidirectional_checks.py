"""SRV-25..27 (conformance/checks/bidirectional.py) on fakes: the bidirectional-streaming WebSocket."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import contract
from conformance.runner import FAIL, PASS, SKIP

from .checkfakes import GoodImage
from .fakegenerative import Bidirectional
from .faketarget import certify, rendered

CLAUSES = ("SRV-25", "SRV-26", "SRV-27")


@pytest.mark.parametrize("clause", CLAUSES)
def test_an_image_without_the_label_is_skipped(clause: str, tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), clause, tmp_path)
    assert outcome.verdict == SKIP
    assert contract.BIDI_LABEL in outcome.reason


@pytest.mark.parametrize("clause", CLAUSES)
def test_a_correct_websocket_passes(clause: str, tmp_path: Path) -> None:
    image = Bidirectional()
    outcome, certification = certify(image, clause, tmp_path)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    assert certification.servers["default"].open_sessions == 0, "every session the check opened is closed"


def test_srv25_reports_the_accept_time(tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(), "SRV-25", tmp_path)
    assert outcome.measurements["bidi_accept_seconds"] == pytest.approx(0.004)


@pytest.mark.parametrize("clause", CLAUSES)
def test_a_label_without_the_route_fails_naming_the_path(clause: str, tmp_path: Path) -> None:
    image = Bidirectional()
    image.websocket = lambda server, path: GoodImage.websocket(image, server, path)  # type: ignore[method-assign]
    outcome, _ = certify(image, clause, tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert contract.BIDI_PATH in text
    assert "404 Not Found" in text


def test_srv25_a_slow_accept_fails_with_the_times(tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(accept_seconds=0.9), "SRV-25", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "took 900 ms to accept" in text
    assert "within 250 ms" in text


@pytest.mark.parametrize(("broken", "kind"), [({"answers_binary": False}, "binary"), ({"answers_text": False}, "text")])
def test_srv26_a_frame_kind_left_unanswered_fails(broken: dict[str, bool], kind: str, tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(**broken), "SRV-26", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert f"A {kind} frame on {contract.BIDI_PATH} got no answer" in text
    assert "no frame in 10 s" in text
    assert f"> {kind} frame" in text, "the frames sent are the evidence"


def test_srv26_a_session_closed_on_binary_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(closes_on_binary=True), "SRV-26", tmp_path)
    assert outcome.verdict == FAIL
    assert "the server closed the session: close frame 1003" in rendered(outcome)


def test_srv27_no_pong_fails_citing_the_rfc(tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(pongs=False), "SRV-27", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "got no pong" in text
    assert "RFC 6455" in text
    assert "5 unanswered pings" in text


def test_srv27_ping_slow_during_a_session_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Bidirectional(ping_during_session=3.0), "SRV-27", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "/ping was not healthy while a WebSocket session was answering" in text
    assert "200 OK in 3.00 s" in text


def test_srv26_and_srv27_need_srv25() -> None:
    from conformance.registry import REGISTRY, clauses

    list(clauses())
    for clause in ("SRV-26", "SRV-27"):
        assert "SRV-25" in REGISTRY[clause].needs
