"""ENV-3 on scripted fake images (conformance/checks/timeouts.py): MODEL_SERVER_TIMEOUT=T cuts off a request to frozen
workers near T. Each image breaks one behaviour or makes the freeze hard to time (a late worker, a busy engine, a slow
process table), and the test asserts the verdict and the violation text."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from conformance import procs
from conformance.checks import timeouts
from conformance.freezing import WATCH_INTERVAL_S
from conformance.procs import Process
from conformance.registry import REGISTRY, clauses
from conformance.runner import FAIL, PASS, SKIP, Outcome, run_clause
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, write_test_dir
from .fakeenv import HARD_CODED, RecordedProcessTable
from .fakeenv3 import (
    CutOnAKeptConnection,
    EarlyReplacementOnABusyHost,
    FreshWorkerSlowOnABusyHost,
    GunicornOnABusyEngine,
    HalfTOnABusyHost,
    IdleHeartbeat,
    KilledFromHalfTOnAKeptConnection,
    LateWorkerBesideTheFrozenRequest,
    ProxyCutFromHalfT,
    SlowBootingWorker,
    SlowFreshWorker,
    SlowProcessTable,
    race_clock,
)
from .fakeserver import FakeServer, Response
from .faketarget import FakeCertification, ScriptedHost, certify, rendered

NGINX_30S = """
events {}
http {
  server {
    listen 8080;
    location ~ ^/(ping|invocations) {
      proxy_pass http://unix:/tmp/gunicorn.sock:/;
      proxy_read_timeout 30s;
    }
  }
}
"""


def test_env3_gunicorn_replaces_frozen_workers_near_t(tmp_path: Path) -> None:
    outcome, certification = certify(GoodImage(), "ENV-3", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome)
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # T = 10, the arbiter's second, a fresh worker
    assert outcome.measurements["configured_timeout_seconds"] == 10.0
    assert certification.servers["env-timeout"].spec.env == {"MODEL_SERVER_TIMEOUT": "10"}


def test_env3_server_keeps_its_own_60s_timeout(tmp_path: Path) -> None:
    outcome, _ = certify(RecordedProcessTable(table=HARD_CODED), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 did not cut off a request to frozen workers: still open after 18.0 s" in text
    assert "Expected: a 5xx, a closed connection, or an answer from a replacement worker between 9 and 18 s" in text
    assert "Actual:   no answer within 18 s (the command line says --timeout 60)" in text
    assert "PIDs 15, 16 (children of the model server's master); afterwards, frozen workers gone: none; fresh" in text
    assert "fake-engine exec env-timeout kill -STOP 15 16" in text  # the target renders the signal


@dataclass
class TimeoutOnlyOnTheCommandLine(RecordedProcessTable):
    """`--timeout 10` on the master's command line, which nothing enforces (a home-made pre-fork server)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(200, b"", "text/csv", elapsed=3600.0)


def test_env3_a_command_line_timeout_that_cuts_nothing_fails(tmp_path: Path) -> None:
    serve = "/usr/bin/python3 /opt/program/prefork.py --timeout 10 --workers 2"
    table = (Process(1, 0, "/usr/bin/python3 /opt/program/serve"), Process(7, 1, serve), Process(8, 7, serve))
    outcome, _ = certify(TimeoutOnlyOnTheCommandLine(table=(*table, Process(9, 7, serve))), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "did not cut off a request to frozen workers" in text
    assert "(the command line says --timeout 10)" in text


@dataclass
class GivesUpAtOnce(GoodImage):
    """Answers 503 as soon as no worker is free, whatever the timeout."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(503, b"no worker available", "text/plain", elapsed=0.01)


def test_env3_a_cut_before_t_fails(tmp_path: Path) -> None:
    outcome, _ = certify(GivesUpAtOnce(), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 was not the timeout: the server gave up on frozen workers after 0.0 s" in text
    assert "Actual:   503 Service Unavailable after 0.0 s; workers replaced: none" in text


@dataclass
class ReplacesWorkersAfter5s(RecordedProcessTable):
    """A supervisor that replaces silent workers after 5 s whatever the variable says."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.replace_processes(set(server.frozen))
        return replace(self.invoke(server, body, headers), elapsed=6.5)


def test_env3_a_hard_coded_shorter_timeout_fails(tmp_path: Path) -> None:
    table = tuple(Process(p.pid, p.ppid, p.args.replace("--timeout 60", "--timeout 5")) for p in HARD_CODED)
    outcome, _ = certify(ReplacesWorkersAfter5s(table=table), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 was not the timeout: the server replaced its frozen workers after 6.5 s" in text
    assert "Actual:   200 OK from a fresh worker; the command line says --timeout 5" in text


SPAWNED = "/usr/local/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main() --multiprocessing-fork"


UVICORN_WORKERS = (
    Process(1, 0, "/usr/local/bin/python /usr/local/bin/uvicorn main:app --port 8080 --workers 2"),
    Process(7, 1, "/usr/local/bin/python -c from multiprocessing.resource_tracker import main;main(4)"),
    Process(8, 1, SPAWNED),
    Process(9, 1, SPAWNED),
)


def test_env3_skips_when_a_health_check_replaces_the_workers_first(tmp_path: Path) -> None:
    outcome, _ = certify(ReplacesWorkersAfter5s(table=UVICORN_WORKERS), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "the server replaced its frozen workers after 6.5 s, before MODEL_SERVER_TIMEOUT=10" in outcome.reason


def test_env3_keeps_nginx_evidence_when_the_behaviour_cannot_be_judged(tmp_path: Path) -> None:
    table = (*UVICORN_WORKERS, HARD_CODED[1], HARD_CODED[3])  # nginx in front, with a fixed 30 s
    outcome, _ = certify(ReplacesWorkersAfter5s(table=table, nginx=NGINX_30S), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert outcome.failure is not None
    assert len(outcome.failure.violations) == 1
    assert "nginx would cut /invocations off after 30 s" in rendered(outcome)
    assert outcome.notes[-1].startswith("The timeout's behaviour was not judged: the server replaced")


def test_env3_times_the_replacement_not_the_fresh_workers_answer(tmp_path: Path) -> None:
    outcome, _ = certify(SlowFreshWorker(table=UVICORN_WORKERS), "ENV-3", tmp_path, clock=race_clock())
    # Answered in T's window, but the workers were replaced within the first looks: uvicorn's own limit decided.
    assert outcome.verdict == SKIP
    assert outcome.measurements["frozen_request_seconds"] == 10.5
    assert outcome.measurements["workers_replaced_seconds"] < 2 * WATCH_INTERVAL_S + 0.5


def test_env3_times_a_replacement_by_when_the_table_was_read_not_asked_for(tmp_path: Path) -> None:
    """A replacement counts from when the reading that showed it came back: on a loaded engine the exec takes a
    second or more, and timing it from the asking made an MMS replacement at T look like one before T."""
    image = SlowProcessTable()
    outcome, _ = certify(image, "ENV-3", tmp_path, clock=race_clock())
    replaced = outcome.measurements["workers_replaced_seconds"]
    # Seen by the first watching read at the earliest, asked for after one watch interval: it returns a whole
    # read later.
    assert replaced >= WATCH_INTERVAL_S + image.read_s


@dataclass
class ModelRunsElsewhere(GoodImage):
    """A process ENV-3 does not freeze answers at once."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return self.invoke(server, body, headers)


def test_env3_skips_when_an_unfrozen_process_answers(tmp_path: Path) -> None:
    outcome, _ = certify(ModelRunsElsewhere(), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "another process runs it, and ENV-3 cannot freeze it" in outcome.reason


@dataclass
class StaysBrokenAfterTheFreeze(GoodImage):
    """Replaces its frozen workers in time, but the replacements never serve again."""

    def ping(self, server: FakeServer) -> Response:
        return Response(200 if not any(p.pid > 1000 for p in server.processes()) else 503, b"", None)


def test_env3_the_server_must_recover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "RECOVERY_S", 0.0)
    outcome, _ = certify(StaysBrokenAfterTheFreeze(), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping did not answer 200 within 0 s after the workers resumed" in rendered(outcome)


def test_env3_nginx_cuts_invocations_off_at_30s(tmp_path: Path) -> None:
    table = [p if "gunicorn" not in p.args else Process(p.pid, p.ppid, p.args.replace("60", "10")) for p in HARD_CODED]
    image = RecordedProcessTable(table=tuple(table), nginx=NGINX_30S)
    outcome, _ = certify(image, "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-3 [MUST]")
    assert outcome.failure is not None
    assert len(outcome.failure.violations) == 1, "the frozen workers are replaced near T"
    assert "nginx would cut /invocations off after 30 s, before the model server's 97 s" in text
    assert "Actual:   30 s (location ~ ^/(ping|invocations) of /opt/program/nginx.conf)" in text
    assert outcome.measurements["nginx_read_timeout_seconds"] == 30.0


def test_env3_reads_the_config_file_when_nginx_t_fails(tmp_path: Path) -> None:
    @dataclass
    class NoNginxBinaryInPath(RecordedProcessTable):
        def nginx_config(self, server: FakeServer, path: str) -> str | None:
            return None  # exec: nginx: not found

    image = NoNginxBinaryInPath(table=HARD_CODED, nginx=NGINX_30S.replace("30s", "600s"))
    outcome, _ = certify(image, "ENV-3", tmp_path)
    # Only the server's own 60 s timeout is wrong; nginx's 600 s, read from the file, is fine.
    assert outcome.verdict == FAIL
    assert "nginx would cut" not in rendered(outcome)
    assert outcome.measurements["nginx_read_timeout_seconds"] == 600.0


def test_env3_skips_when_nothing_is_observable(tmp_path: Path) -> None:
    table = (Process(1, 0, "python /opt/program/serve.py"),)
    outcome, _ = certify(RecordedProcessTable(table=table), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "no process that runs the model is visible" in outcome.reason


def test_env3_skips_without_a_shell(tmp_path: Path) -> None:
    @dataclass
    class Distroless(GoodImage):
        # exec: "sh": executable file not found in $PATH
        def inside_processes(self, server: FakeServer) -> list[Process] | None:
            return None

        def signal(self, server: FakeServer, pids: Sequence[int], name: str) -> bool:
            return False

    outcome, _ = certify(Distroless(), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "no sh" in outcome.reason


@dataclass
class LateWorker(GoodImage):
    """gunicorn on a busy machine: one worker is still booting when ENV-3 first reads the process table; left
    running, it would answer the request to the frozen workers at once."""

    def __post_init__(self) -> None:
        self.readings = 0

    def inside_processes(self, server: FakeServer) -> list[Process] | None:
        if server.spec.name == "env-timeout":
            self.readings += 1
            if self.readings == 1:
                workers = procs.count_workers(server.processes()).workers
                return [p for p in server.processes() if p.pid != workers[-1].pid]
        return super().inside_processes(server)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        running = [w for w in procs.count_workers(server.processes()).workers if w.pid not in server.frozen]
        if running:
            return replace(self.invoke(server, body, headers), elapsed=0.05)
        return super().frozen_invoke(server, body, headers)


def test_env3_freezes_a_worker_that_was_still_booting(tmp_path: Path) -> None:
    outcome, certification = certify(LateWorker(), "ENV-3", tmp_path)
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


def test_env3_freezes_again_when_a_worker_boots_after_the_freeze(tmp_path: Path) -> None:
    outcome, certification = certify(SlowBootingWorker(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # the second request, held by the freeze
    assert any("booted after the freeze" in note for note in outcome.notes)
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


def test_env3_freezes_again_when_a_late_worker_appears_but_the_request_waits_for_the_timeout(tmp_path: Path) -> None:
    """CI saw MMS's ENV-3 skipped as "replaced its frozen workers after 8.7 s" while its request ended at 11.9 s:
    a worker that booted late was taken for an early replacement."""
    outcome, certification = certify(LateWorkerBesideTheFrozenRequest(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # the second request, every worker frozen
    assert any("booted after the freeze" in note for note in outcome.notes)
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


def test_env3_times_again_when_a_busy_engine_delays_the_request_past_the_freeze(tmp_path: Path) -> None:
    """CI at a load average over 10: gunicorn replaced its frozen workers at T by the freeze's clock, and ENV-3,
    whose request left 4 s after the freeze, skipped it as "replaced after 5.9 s, before T could act"."""
    outcome, _ = certify(GunicornOnABusyEngine(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert any("froze the workers again" in note and "after the freeze" in note for note in outcome.notes)
    assert outcome.measurements["freeze_to_request_seconds"] < 1.0  # the second try, on a quiet engine


def test_env3_is_not_judged_when_the_engine_stays_too_busy_to_time_it(tmp_path: Path) -> None:
    outcome, certification = certify(GunicornOnABusyEngine(busy_tries=2), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == SKIP, rendered(outcome) if outcome.failure else outcome.reason
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly (load average 0.50, ")
    assert outcome.not_judged, "no verdict, and no certification (the gate's exit code 2)"
    assert "depends on which one the server counts from" in outcome.reason
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


@pytest.mark.parametrize(
    ("moment", "lead", "unfair"),
    [(8.0, 0.5, False), (8.0, 1.5, True), (5.9, 4.1, True), (3.0, 4.0, False), (9.5, 3.0, False)],
)
def test_env3_an_early_decision_is_unfair_only_when_the_freezes_clock_disagrees(
    moment: float, lead: float, unfair: bool
) -> None:
    assert timeouts._unfair(moment, lead, 10.0) is unfair


def env3_on_a_busy_host(
    image: GoodImage, load_average: tuple[float, float, float], calms_down: bool, tmp_path: Path
) -> Outcome:
    """ENV-3 on ``image`` under ``load_average``; with ``calms_down`` the image stops being busy once ENV-3 measures
    again in quiet. ENV-3 must have asked for that quiet, once."""
    test_dir = load_test_dir(write_test_dir(tmp_path / "td"))
    certification = FakeCertification(image, test_dir, tmp_path / "stage", clock=race_clock())
    assert isinstance(certification.host, ScriptedHost)
    certification.host.load_average = load_average
    if calms_down:
        certification.host.on_quiet.append(lambda: setattr(image, "busy", False))
    list(clauses())
    outcome = run_clause(certification, REGISTRY["ENV-3"])
    assert certification.host.quiets == [f"{certification.image.reference} ENV-3"]
    return outcome


@pytest.mark.parametrize("calms_down", [True, False])
def test_env3_a_request_left_open_after_a_timely_replacement_on_a_busy_host_is_timed_again(
    calms_down: bool, tmp_path: Path
) -> None:
    outcome = env3_on_a_busy_host(FreshWorkerSlowOnABusyHost(), (21.0, 15.0, 12.0), calms_down, tmp_path)
    if calms_down:
        assert outcome.verdict == PASS, outcome.reason
    else:
        assert outcome.verdict == SKIP
        assert outcome.reason.startswith("not judged, the host was too busy to time it fairly (load average 21.00")
        assert "within the window, but the request was still open after 18.0 s" in outcome.reason


@pytest.mark.parametrize("calms_down", [True, False])
def test_env3_an_early_replacement_on_a_busy_host_is_timed_again_never_taken_for_a_limit_of_its_own(
    calms_down: bool, tmp_path: Path
) -> None:
    outcome = env3_on_a_busy_host(EarlyReplacementOnABusyHost(), (6.0, 5.0, 4.0), calms_down, tmp_path)
    if calms_down:
        assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    else:
        assert outcome.verdict == SKIP
        assert outcome.not_judged, outcome.reason
        assert "while the host was busy" in outcome.reason


def test_env3_a_replacement_from_half_of_t_with_t_on_the_command_line_is_t_acting(tmp_path: Path) -> None:
    outcome, _ = certify(IdleHeartbeat(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert any("acts from T/2 on" in note for note in outcome.notes)


def test_env3_a_cut_on_a_kept_connection_answered_on_a_fresh_one_is_a_cut_at_its_moment(tmp_path: Path) -> None:
    """The harness's client sends again on a fresh connection when the server closed a kept one unanswered
    (conformance.http.send); ENV-3 judges the cut, at the moment it came, not the resend's quick answer."""
    outcome, _ = certify(CutOnAKeptConnection(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert outcome.measurements["frozen_request_seconds"] >= 10.9


def test_env3_a_replacement_from_half_of_t_on_a_busy_host_is_t_acting_not_unjudged(tmp_path: Path) -> None:
    """The T/2 rule explains a replacement from T/2 on with --timeout T on the command line whatever the load: the
    verdict does not hang on the host, so ENV-3 neither measures again nor leaves the clause unjudged."""
    test_dir = load_test_dir(write_test_dir(tmp_path / "td"))
    certification = FakeCertification(HalfTOnABusyHost(), test_dir, tmp_path / "stage", clock=race_clock())
    assert isinstance(certification.host, ScriptedHost)
    certification.host.load_average = (3.67, 2.08, 3.37)
    list(clauses())
    outcome = run_clause(certification, REGISTRY["ENV-3"])
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert certification.host.quiets == []
    assert any("acts from T/2 on" in note for note in outcome.notes), outcome.notes


def test_env3_a_worker_killed_from_half_of_t_that_closed_the_request_is_t_acting(tmp_path: Path) -> None:
    """A supervisor that kills a frozen worker closes the connections it held: with --timeout T on the command line,
    that cut from T/2 on is T counted from the worker's last heartbeat, as a replacement seen while the request is open
    is (CI: the text-generation image under load, cut 7.7 s after the request, T = 10)."""
    outcome, _ = certify(KilledFromHalfTOnAKeptConnection(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert any("acts from T/2 on" in note for note in outcome.notes), outcome.notes


def test_env3_an_early_cut_the_workers_did_not_die_in_is_no_heartbeat(tmp_path: Path) -> None:
    """An answer of 504 before T - 1 s while every frozen worker is still there is a limit of something else's own,
    whatever the command line says: it fails, naming when the request was cut."""
    outcome, _ = certify(ProxyCutFromHalfT(), "ENV-3", tmp_path, clock=race_clock())
    assert outcome.verdict == FAIL, outcome.reason
    assert outcome.failure is not None
    assert "after 6.0 s" in rendered(outcome)


@dataclass
class QuietElsewhereAtTheFreeze(GoodImage):
    """Another certification on the host starts measuring in quiet just as ENV-3 freezes the workers, and holds its
    quiet until ENV-3's request arrives, or for ``hold_s`` of real time at most: longer than ENV-3's whole watch on
    the race clock (CI, under load: MMS's request left 16 s after the freeze, and ENV-3 gave up on it 3 s later)."""

    directory: Path = Path()
    hold_s: float = 2.0

    def _marker(self) -> Path:
        return self.directory / f"{os.getppid()}-0"

    def signal(self, server: FakeServer, pids: Sequence[int], name: str) -> bool:
        if name == "STOP" and not server.frozen:
            self._marker().write_text("smc-broken/other:latest SRV-13")
            backstop = threading.Timer(self.hold_s, self._marker().unlink, kwargs={"missing_ok": True})
            backstop.daemon = True
            backstop.start()
        return super().signal(server, pids, name)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        self._marker().unlink(missing_ok=True)
        return super().frozen_invoke(server, body, headers)


def test_env3_sends_its_frozen_request_at_once_even_while_another_certification_measures_in_quiet(
    tmp_path: Path,
) -> None:
    """The request to the frozen workers is part of ENV-3's measurement: it never waits for another measurement's
    quiet, which would run down T's window with nothing sent (the wait for others' quiet comes before the freeze)."""
    test_dir = load_test_dir(write_test_dir(tmp_path / "td"))
    image = QuietElsewhereAtTheFreeze()
    certification = FakeCertification(image, test_dir, tmp_path / "stage", clock=race_clock())
    image.directory = certification.host.directory
    image.directory.mkdir(parents=True, exist_ok=True)
    list(clauses())
    outcome = run_clause(certification, REGISTRY["ENV-3"])
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert outcome.measurements["freeze_to_request_seconds"] < 1.0
