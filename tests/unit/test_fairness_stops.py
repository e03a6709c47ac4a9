"""Stops on a busy host (issue 23): SRV-11's and TRN-7's SIGTERM timed with its control, the container's CPU waits
between the SIGTERM and a moment before the SIGKILL (fairness.fair_kill)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.fairness import Load, fair_kill
from conformance.pid1 import SignalDisposition, StopResult
from conformance.registry import REGISTRY
from conformance.runner import FAIL, PASS, SKIP, Outcome, run_clause
from conformance.targets import ServeSpec
from conformance.targets.results import TrainResult

from .checkfakes import GoodImage, trained
from .fakeimages import Trains
from .fakeserver import FakeServer
from .faketarget import FakeCertification, ScriptedHost, assert_not_judged_twice, certify, rendered

BUSY_STOP = Load(None, (5.2, 4.0, 3.0), None, 2)
"""The load at the end of a stop on a host with twice as many runnable tasks as CPUs."""
TAKES_SIGTERM = SignalDisposition("python3 /opt/program/train", caught=True, ignored=False, waiting=None)


def test_a_slow_stop_under_load_runs_again_in_quiet(tmp_path: Path) -> None:
    grace = contract.TRAIN_STOP_GRACE_S
    busy = trained("sigterm", stop=StopResult(grace, 75.0, 0, False, pid1=TAKES_SIGTERM, load=BUSY_STOP))
    quiet = trained("sigterm-quiet", stop=StopResult(grace, 2.1, 0, False, pid1=TAKES_SIGTERM))
    outcome, certification = certify(Trains(runs={"sigterm": busy, "sigterm-quiet": quiet}), "TRN-7", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert [name for name, _ in certification.trainings][-2:] == ["sigterm", "sigterm-quiet"]
    assert outcome.measurements["train_sigterm_seconds"] == 2.1


def test_a_stop_still_slow_under_load_is_not_judged(tmp_path: Path) -> None:
    grace = contract.TRAIN_STOP_GRACE_S
    runs = {
        name: trained(name, stop=StopResult(grace, 75.0, 0, False, pid1=TAKES_SIGTERM, load=BUSY_STOP))
        for name in ("sigterm", "sigterm-quiet")
    }
    outcome, _ = certify(Trains(runs=runs), "TRN-7", tmp_path)
    assert outcome.verdict == SKIP
    assert "training's exit after SIGTERM took 75.00 s against the 60 s limit" in outcome.reason
    assert "load average 5.20, 4.00, 3.00; 2 CPUs" in outcome.reason


def test_a_stop_pid1_never_took_fails_whatever_the_load(tmp_path: Path) -> None:
    """trn7-sh-wrapper-no-exec: the shell never passes SIGTERM on, so SIGKILL comes on any host."""
    wrapper = SignalDisposition("sh /opt/program/train", caught=False, ignored=False, waiting="do_wait")
    stop = StopResult(contract.TRAIN_STOP_GRACE_S, 120.2, 137, True, pid1=wrapper, load=BUSY_STOP)
    outcome, certification = certify(Trains(runs={"sigterm": trained("sigterm", stop=stop)}), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    assert [name for name, _ in certification.trainings].count("sigterm-quiet") == 0
    assert "Host load while measured:\n    load average 5.20, 4.00, 3.00; 2 CPUs" in rendered(outcome)


@pytest.mark.parametrize(
    ("grace", "limit", "waited", "load_1m", "judged"),
    [
        (30, 30, 0.05, 5.2, True),  # srv11-sh-wrapper-no-exec on a busy host: SIGKILL, its tasks waited for nothing
        (30, 30, 0.99, 5.2, True),  # under a second: the grace counts whole seconds
        (30, 30, 6.4, 0.5, False),  # a graceful shutdown that spent 6 s of the grace waiting for a CPU
        (120, 60, 30.0, 5.2, True),  # TRN-7: killed at 120 s, still past 60 s less every second of waiting
        (120, 60, 61.0, 5.2, False),
        (30, 30, None, 0.5, True),  # no sh in the image: the load average per CPU decides
        (30, 30, None, 5.2, False),
    ],
)
def test_a_stop_killed_at_the_end_of_its_grace_is_judged_on_the_images_own_time(
    grace: int, limit: float, waited: float | None, load_1m: float, judged: bool
) -> None:
    load = Load(waited, (load_1m, 1.0, 1.0), None, 2)
    assert fair_kill(grace, limit, load) is judged
    assert StopResult(grace, grace + 0.3, 137, True, pid1=TAKES_SIGTERM, load=load).fair(limit, load) is judged


def test_a_stop_within_its_limit_or_never_signalled_is_always_fair() -> None:
    busy = Load(9.0, (5.2, 4.0, 3.0), None, 2)
    assert StopResult(30, 4.2, 0, False, pid1=TAKES_SIGTERM, load=busy).fair(30, busy)
    wrapper = SignalDisposition("sh -c serve", caught=False, ignored=False, waiting="do_wait")
    assert StopResult(30, 30.3, 137, True, pid1=wrapper, load=busy).fair(30, busy), "PID 1 alone decided it"
    assert StopResult(120, 75.0, 0, False, pid1=TAKES_SIGTERM, load=busy).fair(60, busy), "75 s less 9 s: past 60 s"
    slowed = Load(20.0, (5.2, 4.0, 3.0), None, 2)
    assert not StopResult(120, 75.0, 0, False, pid1=TAKES_SIGTERM, load=slowed).fair(60, slowed)


SERVE_TAKES_SIGTERM = SignalDisposition("python3 /opt/program/serve", caught=True, ignored=False, waiting=None)


def killed_stop(grace: int, waited: float) -> StopResult:
    """A stop SIGKILLed at the end of its grace, its tasks having waited ``waited`` s for a CPU from the SIGTERM to a
    second before the SIGKILL (what the target reads inside the container)."""
    return StopResult(
        grace, grace + 0.3, 137, True, pid1=SERVE_TAKES_SIGTERM, load=Load(waited, (5.2, 4.0, 3.0), None, 2)
    )


@dataclass
class StopsOnABusyHost(GoodImage):
    """A server whose stop ends in SIGKILL after the grace, its tasks having waited ``waited`` s for a CPU meanwhile;
    once calm (a quiet measurement), it shuts down in 4.2 s, unless ``always``."""

    waited: float = 8.0
    always: bool = False
    busy: bool = True

    def calm(self) -> None:
        self.busy = self.always

    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        grace = contract.SERVE_STOP_GRACE_S
        calm = StopResult(grace, 4.2, 0, False, pid1=SERVE_TAKES_SIGTERM, load=Load(0.01, (0.5, 0.4, 0.3), None, 2))
        server._stop = killed_stop(grace, self.waited) if self.busy else calm
        return server


def stops_on_a_busy_host(image: StopsOnABusyHost, tmp_path: Path) -> tuple[Outcome, FakeCertification, ScriptedHost]:
    _, certification = certify(GoodImage(), "IMG-2", tmp_path)
    certification.fake = image
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(image.calm)
    return run_clause(certification, REGISTRY["SRV-11"]), certification, certification.host


def test_srv11_a_sigkill_its_tasks_waited_for_no_cpu_fails_at_once(tmp_path: Path) -> None:
    """srv11-sh-wrapper-no-exec's shell, or a handler that hangs: nothing waits for a CPU, more time would not help."""
    outcome, _, host = stops_on_a_busy_host(StopsOnABusyHost(waited=0.2, always=True), tmp_path)
    assert outcome.verdict == FAIL
    assert host.quiets == []
    assert "Host load while measured:\n    the image and the harness waited 0.20 s for a CPU" in rendered(outcome)
    assert outcome.measurements["srv11_cpu_wait_seconds"] == 0.2


def test_srv11_a_sigkill_after_waiting_for_a_cpu_is_stopped_again_in_quiet_and_passes(tmp_path: Path) -> None:
    outcome, certification, host = stops_on_a_busy_host(StopsOnABusyHost(), tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert host.quiets == [f"{certification.image.reference} SRV-11"]
    assert any("measured again with the other checks paused" in note for note in outcome.notes), outcome.notes
    assert "waited 8.00 s for a CPU" in " ".join(outcome.notes)
    assert outcome.measurements["serve_sigterm_seconds"] == 4.2


def test_srv11_a_sigkill_after_waiting_for_a_cpu_twice_is_not_judged(tmp_path: Path) -> None:
    outcome, _, host = stops_on_a_busy_host(StopsOnABusyHost(always=True), tmp_path)
    assert_not_judged_twice(outcome)
    assert "the stop (SIGTERM, SIGKILL after 30 s) took 30.00 s against the 30 s limit" in outcome.reason
    assert "waited 8.00 s for a CPU; load average 5.20, 4.00, 3.00; 2 CPUs" in outcome.reason
    assert len(host.quiets) == 1


def trn7_killed(waited: float, quiet: float | None = None) -> dict[str, TrainResult]:
    grace = contract.TRAIN_STOP_GRACE_S
    runs = {"sigterm": trained("sigterm", exit_code=137, stop=killed_stop(grace, waited))}
    if quiet is not None:
        calm = StopResult(grace, quiet, 0, False, pid1=TAKES_SIGTERM, load=Load(None, (0.5, 0.4, 0.3), None, 2))
        runs["sigterm-quiet"] = trained("sigterm-quiet", stop=calm)
    else:
        runs["sigterm-quiet"] = trained("sigterm-quiet", exit_code=137, stop=killed_stop(grace, waited))
    return runs


def test_trn7_a_sigkill_its_tasks_waited_for_no_cpu_fails_at_once(tmp_path: Path) -> None:
    outcome, certification = certify(Trains(runs=trn7_killed(0.4)), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    assert [name for name, _ in certification.trainings].count("sigterm-quiet") == 0
    assert "Host load while measured:\n    the image and the harness waited 0.40 s for a CPU" in rendered(outcome)


def test_trn7_a_sigkill_after_waiting_for_a_cpu_runs_again_in_quiet_and_passes(tmp_path: Path) -> None:
    outcome, certification = certify(Trains(runs=trn7_killed(70.0, quiet=2.1)), "TRN-7", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert [name for name, _ in certification.trainings][-2:] == ["sigterm", "sigterm-quiet"]
    assert any("waited 70.00 s for a CPU" in note for note in outcome.notes), outcome.notes
    assert outcome.measurements["train_sigterm_seconds"] == 2.1


def test_trn7_a_sigkill_after_waiting_for_a_cpu_twice_is_not_judged(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs=trn7_killed(70.0)), "TRN-7", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.not_judged
    assert "training's exit after SIGTERM took 120.00 s against the 60 s limit" in outcome.reason
    assert "waited 70.00 s for a CPU" in outcome.reason
