"""Timing verdicts on a busy host (issue 23): the rule on recorded traces, the quiet, and the checks that use them."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.health import PingsUnderLoad, judge_pings_under_load
from conformance.checks.serving import judge_pings
from conformance.clock import RealClock, VirtualClock
from conformance.fairness import Host, Load, fair, fair_kill, fair_startup, path_wait, task_waits, unjudged
from conformance.http import Exchange
from conformance.pid1 import SignalDisposition, StopResult
from conformance.registry import REGISTRY
from conformance.runner import FAIL, PASS, SKIP, Outcome, run_clause
from conformance.targets import ServeSpec
from conformance.targets.results import TrainResult

from .checkfakes import GoodImage, trained
from .fakeimages import BusyHostPing, EmptyModelOnBusyHost, PingThreeSeconds, SlowStartOnBusyHost, Trains
from .fakeserver import FakeServer
from .faketarget import FakeCertification, ScriptedHost, busy_host, certify, rendered

QUIET = (0.4, 0.5, 0.6)


def ping(elapsed: float, status: int | None = 200) -> Exchange:
    return Exchange("GET", "http://127.0.0.1:32768/ping", {}, b"", status, "OK", {}, b"", elapsed)


@pytest.mark.parametrize(
    ("duration", "waited", "judged"),
    [
        (2.33, 1.9, False),  # CI: the gunicorn image's SRV-13 beside two certifications, mostly waiting for a CPU
        (3.02, 0.04, True),  # srv2-ping-3s: a sleep in /ping waits for nothing
        (3.6, 1.2, True),  # srv13-invocations-2-5s-block-ping: still over 2 s less every second of waiting
        (1.99, 1.9, True),  # within the limit: load only lengthens, a pass is fair
        (2.0, 0.0, True),  # at the limit on a quiet host: fails
    ],
)
def test_a_duration_over_its_limit_is_judged_when_waiting_for_a_cpu_cannot_explain_it(
    duration: float, waited: float, judged: bool
) -> None:
    assert fair(duration, 2.0, Load(waited, (9.0, 5.0, 2.0), 80.0, 2)) is judged


@pytest.mark.parametrize(("load_1m", "judged"), [(0.7, True), (1.99, True), (2.0, False), (6.3, False)])
def test_without_the_images_waits_the_load_average_per_cpu_decides(load_1m: float, judged: bool) -> None:
    assert fair(3.0, 2.0, Load(None, (load_1m, 1.0, 1.0), None, 2)) is judged
    assert fair(1.0, 2.0, Load(None, (load_1m, 1.0, 1.0), None, 2)), "a duration within the limit is always fair"
    assert not fair(3.0, 2.0, Load(None, None, None, 2)), "nothing known: not judged"


def test_a_requests_path_waited_as_long_as_the_longest_waiting_task_of_each_program() -> None:
    """The tasks serving other requests wait beside the path, not on it: their waits are not added. CI's
    srv13-invocations-2-5s-block-ping: 11.6 s summed over every task for a 3.3 s ping; srv13-sync-workers-slow-model:
    3.85 s over two gunicorn workers, which serve requests side by side."""
    before = task_waits(
        "1/task/1/schedstat 100 1000000000 5 gunicorn\n7/task/7/schedstat 100 0 5 gunicorn\n"
        "8/task/8/schedstat 1 0 1 gunicorn\n9/task/9/schedstat 1 0 1 nginx\n"
    )
    assert before == {"1/1 gunicorn": 1.0, "7/7 gunicorn": 0.0, "8/8 gunicorn": 0.0, "9/9 nginx": 0.0}
    dump = (
        "1/task/1/schedstat 200 1100000000 9 gunicorn\n"  # the master: 0.1 s more
        "7/task/7/schedstat 900 1500000000 40 gunicorn\n"  # a worker: 1.5 s
        "7/task/12/schedstat 900 1700000000 40 gunicorn\n"  # a thread born meanwhile: 1.7 s
        "8/task/8/schedstat 900 900000000 40 gunicorn\n"  # another worker: 0.9 s
        "9/task/9/schedstat 900 300000000 40 nginx\n"  # the proxy: 0.3 s
        "10/task/10/schedstat 900 200000000 40 Java Thread\n"  # a name with a space
        "garbage\n"
    )
    after = task_waits(dump)
    assert after is not None
    assert after["10/10 Java Thread"] == 0.2
    assert path_wait(before, after) == pytest.approx(1.7 + 0.3 + 0.2)
    assert task_waits("") is None


def test_the_load_says_what_the_host_was_doing() -> None:
    load = Load(1.9, (3.14, 2.0, 1.0), 63.0, 2)
    assert load.describe() == (
        "the image and the harness waited 1.90 s for a CPU; load average 3.14, 2.00, 1.00; CPU pressure 63%; 2 CPUs"
    )
    assert load.figures("srv13") == {
        "srv13_cpu_wait_seconds": 1.9,
        "srv13_load_average": 3.14,
        "srv13_cpu_pressure_percent": 63.0,
    }
    assert Load(None).describe() == "the host's load unknown"
    assert unjudged("/ping", 2.33, 2.0, load).startswith("not judged, the host was too busy to time it fairly, twice")


def test_the_judges_are_pure_functions_of_what_was_observed() -> None:
    evidence = (("Host load while measured", "load average 0.50"),)
    assert judge_pings([ping(0.01)] * 20) is None
    violation = judge_pings([ping(0.01), ping(3.01)], evidence)
    assert violation is not None
    assert violation.summary == "Ping 2 of 20 after start-up failed the health check"
    assert violation.evidence[-1] == evidence[0]
    assert judge_pings([ping(0.01, 500)]) is not None
    assert not list(judge_pings_under_load(PingsUnderLoad(ping(1.2), [200] * 30, 524288)))
    found = list(judge_pings_under_load(PingsUnderLoad(ping(2.33), [200, 503], 524288), evidence))
    assert [v.summary for v in found] == [
        "/ping failed while 8 invocations of 524,288 bytes were in flight",
        "Invocations failed under concurrency (1 of 2)",
    ]


@pytest.mark.parametrize("clause", ["SRV-2", "SRV-13"])
def test_a_ping_slowed_by_a_busy_host_is_measured_again_in_quiet_and_passes(clause: str, tmp_path: Path) -> None:
    image = BusyHostPing()
    outcome, certification = certify(image, "SRV-1", tmp_path)  # the certification, on the busy image
    busy_host(certification, image)
    outcome = run_clause(certification, REGISTRY[clause])
    assert outcome.verdict == PASS, outcome.reason
    assert isinstance(certification.host, ScriptedHost)
    assert certification.host.quiets == [f"{certification.image.reference} {clause}"]
    assert any("measured again with the other checks paused" in note for note in outcome.notes)
    prefix = clause.lower().replace("-", "")
    assert outcome.measurements[f"{prefix}_load_average"] == 0.5


@pytest.mark.parametrize("clause", ["SRV-2", "SRV-13"])
def test_a_host_too_busy_twice_leaves_the_clause_not_judged_naming_the_load(clause: str, tmp_path: Path) -> None:
    image = BusyHostPing(always=True)
    _, certification = certify(image, "SRV-1", tmp_path)
    busy_host(certification, image)
    outcome = run_clause(certification, REGISTRY[clause])
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly, twice")
    assert outcome.not_judged
    assert "took 2.33 s against the 2 s limit" in outcome.reason
    assert "waited 1.90 s for a CPU; load average 0.50, 0.40, 0.30; 2 CPUs" in outcome.reason
    prefix = clause.lower().replace("-", "")
    assert outcome.measurements[f"{prefix}_cpu_wait_seconds"] == 1.9


def test_a_slow_image_still_fails_on_a_busy_host(tmp_path: Path) -> None:
    """srv2-ping-3s: its /ping sleeps, so its tasks wait for no CPU whatever the load: a fair failure, at once."""
    _, certification = certify(PingThreeSeconds(), "SRV-1", tmp_path)
    assert isinstance(certification.host, ScriptedHost)
    certification.host.load_average = (7.5, 6.0, 4.0)
    outcome = run_clause(certification, REGISTRY["SRV-2"])
    assert outcome.verdict == FAIL
    assert certification.host.quiets == []
    text = rendered(outcome)
    assert "Host load while measured:\n    the image and the harness waited 0.00 s for a CPU; load average 7.50" in text


@pytest.mark.parametrize(
    ("waited", "load_1m", "judged"),
    [
        (7.9, 3.1, False),  # CI: MMS's JVM beside another certification, its start-up mostly waiting for a CPU
        (0.3, 3.1, True),  # a server listening on the wrong port: idle, whatever the load
        (0.99, 0.2, True),  # under a second: the budget counts whole seconds
        (None, 0.7, True),  # no sh in the image: the load average per CPU decides
        (None, 2.0, False),
    ],
)
def test_a_start_up_past_its_budget_is_judged_when_waiting_for_a_cpu_cannot_explain_it(
    waited: float | None, load_1m: float, judged: bool
) -> None:
    assert fair_startup(Load(waited, (load_1m, 1.0, 1.0), None, 2)) is judged


def start_up_on_a_busy_host(image: SlowStartOnBusyHost, tmp_path: Path) -> tuple[FakeCertification, ScriptedHost]:
    _, certification = certify(GoodImage(), "IMG-2", tmp_path)
    certification.fake = image
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(image.calm)
    return certification, certification.host


def test_a_start_up_slowed_by_a_busy_host_is_started_again_in_quiet_and_passes(tmp_path: Path) -> None:
    certification, host = start_up_on_a_busy_host(SlowStartOnBusyHost(), tmp_path)
    outcome = run_clause(certification, REGISTRY["SRV-2"])
    assert outcome.verdict == PASS, outcome.reason
    assert host.quiets == [f"{certification.image.reference} start-up of default"]
    assert [name for name, *_ in certification.fake_target.launches] == ["default", "default"]
    assert any("started again with the other checks paused" in note for note in outcome.notes), outcome.notes
    assert "waited 8.00 s for a CPU" in " ".join(outcome.notes)
    assert outcome.measurements["cold_start_seconds"] == 1.25


def test_a_start_up_too_busy_twice_is_not_judged_and_its_dependents_say_so(tmp_path: Path) -> None:
    certification, host = start_up_on_a_busy_host(SlowStartOnBusyHost(always=True), tmp_path)
    outcome = run_clause(certification, REGISTRY["SRV-2"])
    assert outcome.verdict == SKIP
    assert outcome.not_judged
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly, twice"), outcome.reason
    assert "the start-up did not answer 200 on /ping within the 60 s budget" in outcome.reason
    assert "waited 8.00 s for a CPU" in outcome.reason
    assert len(host.quiets) == 1
    dependent = run_clause(certification, REGISTRY["SRV-4"])
    assert dependent.verdict == SKIP
    assert "not judged" in dependent.reason


def test_a_start_up_past_its_budget_that_waited_for_no_cpu_fails_at_once(tmp_path: Path) -> None:
    """srv1-port-8081 under load: its server listens on the wrong port and idles, so more time would not help."""
    certification, host = start_up_on_a_busy_host(SlowStartOnBusyHost(always=True, waited=0.2), tmp_path)
    host.load_average = (7.5, 6.0, 4.0)
    outcome = run_clause(certification, REGISTRY["SRV-2"])
    assert outcome.verdict == FAIL
    assert host.quiets == []
    assert [name for name, *_ in certification.fake_target.launches] == ["default"]
    assert "Host load while measured:\n    the image and the harness waited 0.20 s for a CPU" in rendered(outcome)


def srv12_on_a_busy_host(image: EmptyModelOnBusyHost, tmp_path: Path) -> tuple[Outcome, ScriptedHost]:
    _, certification = certify(image, "SRV-2", tmp_path)
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(image.calm)
    return run_clause(certification, REGISTRY["SRV-12"]), certification.host


def test_srv12_watches_again_for_the_seconds_its_window_waited_for_a_cpu_and_catches_a_late_200(
    tmp_path: Path,
) -> None:
    """A server healthy without a model, slowed past the window by a busy host, is not passed: /ping is watched
    again, with the other checks paused, for as long as the window waited for a CPU."""
    outcome, host = srv12_on_a_busy_host(EmptyModelOnBusyHost(healthy=True), tmp_path)
    assert outcome.verdict == FAIL, outcome.reason
    assert host.quiets == ["example.com/team/model:1.0 SRV-12"]
    assert "waited 6.00 s for a CPU" in " ".join(outcome.notes)


def test_srv12_passes_a_server_unhealthy_without_a_model_once_its_window_is_its_own(tmp_path: Path) -> None:
    outcome, host = srv12_on_a_busy_host(EmptyModelOnBusyHost(more=0.5), tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert len(host.quiets) == 1
    assert outcome.measurements["srv12_cpu_wait_seconds"] == 6.0


def test_srv12_is_not_judged_when_the_host_stays_too_busy_to_give_it_its_window(tmp_path: Path) -> None:
    outcome, _ = srv12_on_a_busy_host(EmptyModelOnBusyHost(more=0.5, always=True), tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.not_judged
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly"), outcome.reason
    assert "window" in outcome.reason


def test_srv12_judges_at_once_a_window_that_waited_for_no_cpu(tmp_path: Path) -> None:
    outcome, host = srv12_on_a_busy_host(EmptyModelOnBusyHost(waited=0.3), tmp_path)
    assert outcome.verdict == PASS
    assert host.quiets == []


def test_the_fake_runs_on_virtual_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SRV-13 pings for 3 s while invocations are in flight: on the fake's clock, never sleeping on the host's
    (asserted on the clocks, not on the wall time a busy machine would stretch)."""

    def no_real_sleep(self: RealClock, seconds: float) -> None:
        raise AssertionError(f"a real sleep of {seconds} s in a fake certification")

    monkeypatch.setattr(RealClock, "sleep", no_real_sleep)
    outcome, certification = certify(BusyHostPing(busy=False), "SRV-13", tmp_path)
    assert outcome.verdict == PASS
    assert isinstance(certification.clock, VirtualClock)
    assert certification.clock.now() >= 1000.0 + 3.0


def test_other_work_waits_for_a_quiet_measurement_and_the_holder_never_does(tmp_path: Path) -> None:
    host = Host(VirtualClock(), tmp_path / "quiet")
    order: list[str] = []
    holding = threading.Event()

    def other() -> None:
        holding.wait()
        host.pause_point("image SRV-4")
        order.append("other request")

    thread = threading.Thread(target=other)
    thread.start()
    with host.quiet("image SRV-13"):
        holding.set()
        assert host.pause_point("image SRV-13") < 0.1, "the holder's own requests go on"
        time.sleep(0.3)
        order.append("quiet measurement done")
    thread.join(5)
    assert order == ["quiet measurement done", "other request"]
    assert not list((tmp_path / "quiet").iterdir()), "the marker is removed"


def test_a_quiet_measurement_in_another_process_holds_this_ones_requests(tmp_path: Path) -> None:
    directory = tmp_path / "quiet"
    directory.mkdir()
    host = Host(VirtualClock(), directory)
    assert host.pause_point("image SRV-4") < 0.1
    (directory / "999999999-0").write_text("a dead run's marker")
    assert host.pause_point("image SRV-4") < 0.1, "a dead process's marker holds nothing"
    marker = directory / f"{os.getppid()}-0"
    marker.write_text("other SRV-13")
    threading.Timer(0.4, marker.unlink).start()
    assert host.pause_point("image SRV-4") >= 0.3


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
    assert outcome.verdict == SKIP
    assert outcome.not_judged
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly, twice"), outcome.reason
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
