"""PID 1's SIGTERM disposition, parsed from /proc/1/status, wchan and syscall as Linux writes them."""

from __future__ import annotations

import time

import docker.errors
import pytest
import requests

from conformance.pid1 import SignalDisposition, head_sections, waiting_in
from conformance.targets.docker import pid1 as docker_pid1
from conformance.targets.docker.pid1 import await_sigterm_handler, stop_container

# Real lines from /proc/1/status; only the signal masks change between the cases.
STATUS = """Name:\t{name}
State:\tS (sleeping)
Pid:\t1
SigQ:\t0/63412
SigPnd:\t0000000000000000
ShdPnd:\t0000000000000000
SigBlk:\t{blocked}
SigIgn:\t{ignored}
SigCgt:\t{caught}
nonvoluntary_ctxt_switches:\t3"""
NONE = "0000000000000000"


def status(name: str, *, blocked: str = NONE, ignored: str = NONE, caught: str = NONE) -> str:
    return STATUS.format(name=name, blocked=blocked, ignored=ignored, caught=caught)


def test_python_with_a_sigterm_handler_catches_it() -> None:
    # signal.signal(SIGTERM, ...) in CPython: SIGINT (bit 2) and SIGTERM (bit 15) caught.
    text = status("python3", ignored="0000000001001000", caught="0000000180004002")
    disposition = SignalDisposition.parse(text, "python3 /opt/program/train", "running")
    assert disposition is not None
    assert disposition.receives is True
    assert disposition.describe() == "PID 1 (python3 /opt/program/train) catches SIGTERM"


def test_a_shell_waiting_for_its_child_drops_sigterm() -> None:
    # dash as PID 1, no traps: SIGCHLD caught only, asleep in wait4.
    disposition = SignalDisposition.parse(status("sh", caught="0000000000010000"), "/bin/sh train", "do_wait")
    assert disposition is not None
    assert disposition.receives is False
    assert disposition.describe() == "PID 1 (/bin/sh train) has no handler for SIGTERM, asleep in do_wait"


def test_a_busy_program_without_a_handler_drops_sigterm() -> None:
    disposition = SignalDisposition.parse(status("python3"), "python3 train.py", "running")
    assert disposition is not None
    assert disposition.receives is False


def test_an_init_in_sigtimedwait_receives_sigterm() -> None:
    # tini and dumb-init block signals and sigtimedwait for them; while they wait, /proc shows SigBlk as 0.
    disposition = SignalDisposition.parse(
        status("tini", ignored="0000000000300000"), "tini -- train", "do_sigtimedwait.isra.0"
    )
    assert disposition is not None
    assert disposition.receives is True
    assert disposition.describe() == "PID 1 (tini -- train) waits for SIGTERM, asleep in do_sigtimedwait.isra.0"


def test_a_blocked_sigterm_is_queued_so_received() -> None:
    # An init that takes its signals from a signalfd: SIGTERM blocked, asleep in a poll.
    disposition = SignalDisposition.parse(status("init", blocked="0000000000004000"), "", "ep_poll")
    assert disposition is not None
    assert disposition.receives is True


def test_a_sigterm_blocked_while_running_is_a_moment_not_a_handler() -> None:
    """CPython's subprocess blocks every signal around fork and exec: PID 1 (AWS's training toolkit starting the
    user's script) read then shows SIGTERM blocked while it runs. That is no way of taking SIGTERM: look again."""
    text = status("python3", blocked="fffffffffffbfeff", ignored="0000000001001000", caught="0000000180000002")
    disposition = SignalDisposition.parse(text, "/opt/venv/bin/python3 /opt/venv/bin/train", "running")
    assert disposition is not None
    assert disposition.receives is False
    assert disposition.describe() == (
        "PID 1 (/opt/venv/bin/python3 /opt/venv/bin/train) has no handler for SIGTERM, blocking it for the moment "
        "while it runs (as around a fork)"
    )


def test_an_ignored_sigterm_is_named() -> None:
    disposition = SignalDisposition.parse(status("train", ignored="0000000000004000"))
    assert disposition is not None
    assert disposition.receives is False
    assert disposition.describe() == "PID 1 (train) ignores SIGTERM"


def test_no_handler_and_no_view_of_where_it_waits_is_undecided() -> None:
    # Without wchan or syscall, a sigtimedwait init cannot be told from a shell: never judged on a guess.
    disposition = SignalDisposition.parse(status("tini"), "tini -- train", None)
    assert disposition is not None
    assert disposition.receives is None


def test_where_pid1_waits() -> None:
    assert waiting_in("do_wait\n", None, "x86_64") == "do_wait"
    assert waiting_in("0", "running\n", "x86_64") == "running"
    assert waiting_in("0", "128 0x7ffc4149dae0 0x7ffc4149da10 0x0", "x86_64") == "rt_sigtimedwait"
    assert waiting_in("0", "137 0x1 0x2", "aarch64") == "rt_sigtimedwait"
    assert waiting_in("0", "61 0xffffffff 0x7ffd4f5eabec", "x86_64") == "wait4"
    assert waiting_in("0", "7 0x1", "x86_64") == "syscall 7"
    assert waiting_in(None, None, "x86_64") is None
    assert waiting_in("0", None, "x86_64") is None


def test_unreadable_status_is_none() -> None:
    assert SignalDisposition.parse("") is None
    assert SignalDisposition.parse("SigCgt:\tnot-hex\nSigIgn:\t0\nSigBlk:\t0") is None


def head_output(files: dict[str, str]) -> bytes:
    """What ``head -n 1000 /proc/1/...`` prints for several files (coreutils and busybox alike)."""
    sections = [f"==> /proc/1/{name} <==\n{text}" for name, text in files.items()]
    return "\n".join(sections).encode()


def test_head_sections_split_files_with_and_without_final_newline() -> None:
    files = {"status": status("sh") + "\n", "cmdline": "sh\0-c\0sleep 1\0", "wchan": "do_wait", "syscall": "61 0x1\n"}
    assert head_sections(head_output(files).decode()) == files


def test_head_sections_of_nothing_is_empty() -> None:
    assert head_sections("") == {}


class FakeContainer:
    """Just enough of docker's Container for await_sigterm_handler: /proc readings over time, and an exit."""

    def __init__(self, readings: list[str], exits_after: int | None = None, wchans: list[str] | None = None) -> None:
        self.readings = readings  # one /proc/1/status per look; the last one repeats
        self.wchans = wchans or ["do_wait"]  # the same for /proc/1/wchan
        self.looks = 0
        self.exits_after = exits_after  # the run ends after this many waits
        self.waits = 0
        self.client = self

    def info(self) -> dict[str, str]:
        return {"Architecture": "x86_64"}

    def exec_run(self, command: list[str], demux: bool = False) -> tuple[int, tuple[bytes, bytes]]:
        assert command[0] == "head"
        assert demux
        look = self.looks
        self.looks += 1
        files = {
            "status": self.readings[min(look, len(self.readings) - 1)] + "\n",
            "cmdline": "sh\0-c\0python3 train\0",
            "wchan": self.wchans[min(look, len(self.wchans) - 1)],
        }
        # /proc/1/syscall is unreadable without ptrace rights: head skips it and says so on stderr.
        return 1, (head_output(files), b"head: cannot open '/proc/1/syscall' for reading: Permission denied\n")

    def wait(self, timeout: float) -> dict[str, int]:
        self.waits += 1
        time.sleep(timeout)  # as docker's wait: blocks until the exit or the timeout
        if self.exits_after is not None and self.waits >= self.exits_after:
            return {"StatusCode": 0}
        raise requests.exceptions.ReadTimeout()


def test_waits_for_a_handler_installed_after_slow_imports() -> None:
    late = [status("python3")] * 3 + [status("python3", caught="0000000000004000")]
    container = FakeContainer(late, wchans=["do_select"])
    disposition = await_sigterm_handler(container, budget=5.0, interval=0.0)
    assert disposition is not None
    assert disposition.receives is True
    assert container.looks == 4


def test_a_ready_pid1_is_signalled_at_the_settle_time_without_further_looks() -> None:
    container = FakeContainer([status("python3", caught="0000000000004000")])
    started = time.monotonic()
    disposition = await_sigterm_handler(container, budget=5.0, settle=0.2)
    assert disposition is not None
    assert disposition.receives is True
    assert container.looks == 2  # one look at once, one when the settle time is up
    assert time.monotonic() - started >= 0.2


def test_gives_up_on_a_pid1_that_never_takes_sigterm() -> None:
    container = FakeContainer([status("sh")])
    disposition = await_sigterm_handler(container, budget=0.05, interval=0.0)
    assert disposition is not None
    assert disposition.receives is False


def test_a_run_that_ends_while_waiting_keeps_the_last_reading() -> None:
    container = FakeContainer([status("sh")], exits_after=2)
    disposition = await_sigterm_handler(container, budget=5.0, interval=0.0)
    assert disposition is not None
    assert disposition.receives is False
    assert container.waits == 2


def test_a_wrapper_seen_waiting_on_its_child_stays_the_finding() -> None:
    container = FakeContainer([status("sh")], exits_after=3, wchans=["do_wait", "do_wait", "0"])
    disposition = await_sigterm_handler(container, budget=5.0, interval=0.0)
    assert disposition is not None
    assert disposition.waits_for_child
    assert disposition.command == "sh -c python3 train"


def schedstat_dump(waits: dict[str, float]) -> bytes:
    """What SCHEDSTAT_SCRIPT prints for tasks ``PID/TID program`` that waited these seconds."""
    lines = []
    for task, wait in waits.items():
        pid_tid, program = task.split(" ", 1)
        pid, tid = pid_tid.split("/")
        lines.append(f"{pid}/task/{tid}/schedstat 5000 {int(wait * 1e9)} 7 {program}")
    return "\n".join(lines).encode()


class StoppingContainer:
    """Just enough of docker's Container for stop_container: a stop that takes ``takes`` s (ending in SIGKILL when
    that reaches the grace), and the tasks' CPU waits read inside it (``docker exec`` of SCHEDSTAT_SCRIPT)."""

    def __init__(self, takes: float, waits: list[dict[str, float]]) -> None:
        self.takes = takes
        self.waits = waits  # one dump per read, in order
        self.reads: list[float] = []  # when each read came, in seconds after the first
        self.running = True
        self.exit_code = 0
        self.status = "running"
        self.attrs: dict[str, dict[str, int]] = {"State": {"ExitCode": 0}}
        self.started = time.monotonic()

    def reload(self) -> None:
        self.status = "running" if self.running else "exited"
        self.attrs = {"State": {"ExitCode": self.exit_code}}

    def exec_run(self, command: list[str]) -> tuple[int, bytes]:
        assert command[:2] == ["sh", "-c"]
        if not self.running:
            raise docker.errors.APIError("container is not running")
        if not self.reads:
            self.started = time.monotonic()
        self.reads.append(time.monotonic() - self.started)
        return 0, schedstat_dump(self.waits[min(len(self.reads), len(self.waits)) - 1])

    def stop(self, timeout: int) -> None:
        time.sleep(min(self.takes, timeout))
        self.running = False
        self.exit_code = 137 if self.takes >= timeout else 0


HANDLES_SIGTERM = SignalDisposition("python3 serve", caught=True, ignored=False)


def test_a_stop_killed_after_its_grace_reads_its_tasks_cpu_waits_before_the_kill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control of a SIGKILLed stop: how long the image's tasks waited for a CPU between the SIGTERM and a moment
    before the SIGKILL (per program, the task that waited longest). The fake refuses a read once it has stopped, so
    a second read is one made before the kill; this thread's own wait is pinned at none (a busy test machine's is
    not the image's)."""
    monkeypatch.setattr(docker_pid1.HOST, "thread_wait", lambda: 0.0)
    container = StoppingContainer(
        takes=9.0,
        waits=[
            {"1/1 python3": 1.0, "7/7 python3": 0.5, "9/9 nginx": 0.0},
            {"1/1 python3": 1.25, "7/7 python3": 1.5, "9/9 nginx": 0.25},
        ],
    )
    stop = stop_container(container, 1, pid1=HANDLES_SIGTERM, late_look=0.6)
    assert stop.killed
    assert len(container.reads) == 2
    assert container.reads[1] >= 0.3, "read shortly before the grace ends, not as the SIGTERM goes"
    assert stop.load is not None
    assert stop.load.waited == pytest.approx(1.0 + 0.25, abs=0.05), "the worker's 1 s and nginx's 0.25 s"


def test_a_stop_that_ends_in_time_reads_nothing_more() -> None:
    container = StoppingContainer(takes=0.1, waits=[{"1/1 python3": 1.0}])
    stop = stop_container(container, 1, pid1=HANDLES_SIGTERM, late_look=0.6)
    assert not stop.killed
    assert len(container.reads) == 1, "one read as the SIGTERM goes, none after"
    assert stop.load is not None
    assert stop.load.waited is None, "the container is gone: the load average stands in"
