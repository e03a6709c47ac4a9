"""ENV-3's observation: freezing a server's model workers, and watching its process table while a request to them is
open (:mod:`conformance.checks.timeouts` judges what this sees)."""

from __future__ import annotations

import threading
from pathlib import Path

from conformance import contract, procs
from conformance.clock import Clock
from conformance.http import Exchange
from conformance.targets import Server

WATCH_INTERVAL_S = 0.5
"""How often ENV-3 reads the process table while the request to the frozen workers is open."""
LATE_WORKER_ROUNDS = 3
"""How many times ENV-3 looks again, right after the freeze, for workers that were still booting."""


def freeze_late_workers(
    server: Server, table: list[procs.Process], frozen: list[int]
) -> tuple[list[procs.Process], list[int]]:
    """Freeze the workers that booted between the reading of the process table and the freeze, too.

    A server on a busy machine may still be forking its workers after three agreeing readings; such a worker,
    left running, would answer the request at once and pass for a replacement. Right after the freeze no
    supervisor has replaced anything (the servers ENV-3 knows replace a silent worker after seconds), so a worker
    seen now that the first reading did not have was booting. The table then includes it."""
    for _ in range(LATE_WORKER_ROUNDS):
        now = server.inside_processes()
        if now is None:
            break
        late = [w.pid for w in procs.count_workers(now).workers if w.pid not in frozen]
        if not late or not server.signal(late, "STOP"):
            break
        frozen = sorted(frozen + late)
        table = now
    return table, frozen


def replacements(
    table: list[procs.Process], frozen: list[int], now: list[procs.Process]
) -> tuple[list[int], list[int]]:
    """Frozen workers that are gone (gunicorn kills them) and workers that were not there before (MMS forks a
    fresh child and leaves the frozen one)."""
    known = {p.pid for p in table}
    gone = [pid for pid in frozen if pid not in {p.pid for p in now}]
    fresh = [w.pid for w in procs.count_workers(now).workers if w.pid not in known]
    return gone, fresh


def send_while_watching(
    clock: Clock,
    server: Server,
    table: list[procs.Process],
    frozen: list[int],
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    payload_file: Path,
    stop_asked: float,
) -> tuple[Exchange, tuple[float, float] | None, list[procs.Process], float]:
    """Send the invocation (right after the freeze) and watch the process table while it is open: the answer,
    when the reading that first showed the frozen workers replaced was asked for and when it came back, the
    final table, and how long after ``stop_asked`` (when the freeze was asked for) the request left. ``timeout`` is
    the request's; the watch ends one interval after it."""
    answers: list[Exchange] = []
    refused: list[BaseException] = []

    def send() -> None:
        try:
            answers.append(
                server.request(
                    "POST",
                    contract.INVOCATIONS_PATH,
                    body=body,
                    headers=headers,
                    timeout=timeout,
                    payload_file=payload_file,
                )
            )
        except BaseException as error:  # a limit another check broke (conformance.limits): the check's to raise
            refused.append(error)

    started = clock.now()
    lead = started - stop_asked
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    replaced_at = None
    # The client's timeout is per read: a server that trickles bytes could hold it longer; the watch cannot.
    deadline = started + timeout + WATCH_INTERVAL_S
    while clock.now() < deadline:
        clock.join(sender, WATCH_INTERVAL_S)
        if not sender.is_alive():
            break
        asked = clock.now() - started
        now = server.inside_processes() or []
        if replaced_at is None and any(replacements(table, frozen, now)):
            # A docker exec on a loaded engine takes a second or more: the reading shows the table somewhere
            # between the asking and its return. Judged early only by the return, late only by the asking.
            replaced_at = (asked, clock.now() - started)
    if refused:
        raise refused[0]
    if not answers:
        held = clock.now() - started
        error = f"ReadTimeout: no complete answer within {held:.1f} s"
        answers.append(Exchange("POST", contract.INVOCATIONS_PATH, headers, body, None, "", {}, b"", held, error))
    return answers[0], replaced_at, server.inside_processes() or [], lead
