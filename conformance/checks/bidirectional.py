"""SRV-25..27: bidirectional streaming, the WebSocket an image that carries the capability's label serves."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.failures import CheckSkipped, Violation
from conformance.registry import Level, check
from conformance.targets import Server
from conformance.websocket import Frame, Opcode, Session, WebSocketError

HANDSHAKES = 3
"""SRV-25 times this many upgrades and judges their median: one slow accept on a busy host is not the image's."""
CONNECT_TIMEOUT_S = 10.0
ANSWER_WAIT_S = 10.0
"""How long a frame may wait for its first answer frame (the harness's choice: a model's first token, not its whole
answer, is what a stream shows first)."""
QUIET_S = 0.5
"""An answer is over once no frame has come for this long (the next frame sent is then answered on its own)."""
PONG_WAIT_S = 5.0
"""A pong is a control frame the server's WebSocket layer answers at once, whatever the model is doing."""
PINGS_DURING_SESSION = 3


def claims_bidirectional(ctx: CheckContext) -> None:
    if ctx.image.labels.get(contract.BIDI_LABEL, "").lower() != "true":
        raise CheckSkipped(f"the image does not claim the capability (label {contract.BIDI_LABEL}=true)")


def websocket_url(port: int = contract.PORT) -> str:
    return f"ws://localhost:{port}{contract.BIDI_PATH}"


def reproduce_session(*steps: str) -> tuple[str, ...]:
    """A session by hand with websocat (`-b` for binary frames), after `docker run ... serve`."""
    return (f"websocat {websocket_url()}   # then type a prompt; {'; '.join(steps)}",) if steps else ()


def refused(error: WebSocketError, what: str) -> Violation:
    return Violation(
        f"The WebSocket at {contract.BIDI_PATH} was not accepted ({what}), though the image claims bidirectional "
        "streaming",
        expected=f"101 Switching Protocols on GET {contract.BIDI_PATH} with Upgrade: websocket, port {contract.PORT}",
        actual=str(error),
        reproduce=(
            f"curl -i -N -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' "
            f"-H 'Sec-WebSocket-Key: c21jLXJlcHJvZHVjZS0wMQ==' http://localhost:{contract.PORT}{contract.BIDI_PATH}",
        ),
    )


def transcript(session: Session) -> tuple[str, str]:
    return ("WebSocket session", "\n".join(session.transcript) or "(no frames)")


@check(
    "SRV-25",
    Level.CONDITIONAL,
    "The bidirectional-streaming WebSocket accepts within 250 ms (bidirectional-streaming images)",
    source=contract.DG_INF_BIDI,
)
def websocket_accepted_promptly(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.bidirectional-streaming=true`, a WebSocket
    upgrade to `/invocations-bidirectional-stream` on port 8080 is accepted (101 Switching Protocols, RFC 6455's
    handshake) within 250 ms; the time is reported.

    Why: For InvokeEndpointWithBidirectionalStream SageMaker opens a WebSocket to the container at
    /invocations-bidirectional-stream on port 8080 for each stream; AWS's bring-your-own sample states that
    containers must accept it within 250 ms. A server that does work before it accepts (loads a model per session,
    waits for a lock) makes every stream's first bytes late, and one without the route fails every call.

    How: Skipped unless the image carries the label. On the default server, opens the WebSocket three times with a
    client of its own (conformance.websocket, RFC 6455 over a socket), times each from the upgrade request sent to
    the 101 received, closes each, and judges the median against 250 ms.
    """
    claims_bidirectional(ctx)
    server = ctx.server()
    times = []
    for _ in range(HANDSHAKES):
        try:
            session = server.websocket(contract.BIDI_PATH, timeout=CONNECT_TIMEOUT_S)
        except WebSocketError as error:
            yield refused(error, "the upgrade was refused")
            return
        times.append(session.accept_seconds)
        session.close()
    median = statistics.median(times)
    ctx.measure("bidi_accept_seconds", median)
    if median > contract.BIDI_ACCEPT_S:
        yield Violation(
            f"The WebSocket at {contract.BIDI_PATH} took {median * 1000:.0f} ms to accept",
            expected=f"101 Switching Protocols within {contract.BIDI_ACCEPT_S * 1000:.0f} ms",
            actual=f"median {median * 1000:.0f} ms over {HANDSHAKES} upgrades "
            f"({', '.join(f'{t * 1000:.0f} ms' for t in times)})",
            reproduce=reproduce_session("time how long websocat takes to connect"),
        )


def first_answer(session: Session, wait: float) -> tuple[Frame | None, str | None]:
    """The first data frame within ``wait`` seconds and the frames after it until the answer goes quiet; or what went
    wrong instead (a close frame, the connection lost)."""
    try:
        while True:
            frame = session.receive(wait)
            if frame is None:
                return None, f"no frame in {wait:g} s"
            if frame.opcode == Opcode.CLOSE:
                return None, f"the server closed the session: {frame.describe()}"
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                while session.receive(QUIET_S) is not None:
                    pass
                return frame, None
    except WebSocketError as error:
        return None, str(error)


@check(
    "SRV-26",
    Level.CONDITIONAL,
    "Text and binary frames are both answered on one session (bidirectional-streaming images)",
    source=contract.DG_INF_BIDI,
    needs=("SRV-25",),
    waits=2 * QUIET_S,
)
def websocket_frames_answered(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.bidirectional-streaming=true`, one WebSocket
    session answers a text frame and then a binary frame: each gets at least one data frame (text or binary) back
    within 10 s, and the session stays open.

    Why: SageMaker forwards a stream's UTF-8 payloads to the container as text frames and every other payload as
    binary frames, on the one WebSocket it opened. A server that handles only one kind (`receive_text()` where
    audio arrives as bytes) leaves the other kind's calls hanging, or closes the stream on it.

    How: Skipped unless the image carries the label. Opens the WebSocket on the default server, sends the
    test-dir's payload as a text frame and waits for the first frame of the answer (and the rest of it, until
    nothing comes for 0.5 s), then sends the same bytes as a binary frame and waits again; a close frame or no
    frame in 10 s fails. The frames both ways are the evidence.
    """
    claims_bidirectional(ctx)
    server = ctx.server()
    try:
        session = server.websocket(contract.BIDI_PATH, timeout=CONNECT_TIMEOUT_S)
    except WebSocketError as error:
        yield refused(error, "the upgrade was refused")
        return
    try:
        payload = ctx.test_dir.payload
        for kind in ("text", "binary"):
            answer: Frame | None
            problem: str | None
            try:
                if kind == "text":
                    session.send_text(payload.decode("utf-8", "replace"))
                else:
                    session.send_binary(payload)
            except WebSocketError as error:
                answer, problem = None, str(error)
            else:
                answer, problem = first_answer(session, ANSWER_WAIT_S)
            if answer is None:
                yield Violation(
                    f"A {kind} frame on {contract.BIDI_PATH} got no answer",
                    expected=f"a text or binary frame back within {ANSWER_WAIT_S:g} s, the session still open",
                    actual=problem or "nothing",
                    evidence=(transcript(session),),
                    reproduce=reproduce_session(
                        f"send the payload as a {kind} frame" + (" (websocat -b)" if kind == "binary" else "")
                    ),
                )
                return
    finally:
        session.close()


def pong_for(session: Session) -> tuple[bool, str]:
    """Ping with a fresh payload; whether the matching pong came within PONG_WAIT_S, and what came instead."""
    payload = b"smc-" + os.urandom(6).hex().encode()
    try:
        session.ping(payload)
        while True:
            frame = session.receive(PONG_WAIT_S)
            if frame is None:
                return False, f"no pong in {PONG_WAIT_S:g} s"
            if frame.opcode == Opcode.PONG:
                if frame.payload == payload:
                    return True, ""
                return False, f"a pong with {frame.payload!r}, not the ping's {payload!r}"
            if frame.opcode == Opcode.CLOSE:
                return False, f"the server closed the session: {frame.describe()}"
    except WebSocketError as error:
        return False, str(error)


def pings_during(server: Server, session: Session) -> list[str]:
    """GET /ping while the session is open and answering the payload: the ones that were not 200 in under 2 s."""
    slow = []
    for _ in range(PINGS_DURING_SESSION):
        exchange = server.request("GET", contract.PING_PATH, timeout=contract.PING_TIMEOUT_S + 3)
        if exchange.status != 200 or exchange.elapsed >= contract.PING_TIMEOUT_S:
            slow.append(f"{exchange.describe()} in {exchange.elapsed:.2f} s")
    return slow


@check(
    "SRV-27",
    Level.CONDITIONAL,
    "A session answers ping frames with pong, and /ping stays healthy during it (bidirectional-streaming images)",
    source=contract.DG_INF_BIDI,
    needs=("SRV-25",),
    waits=QUIET_S,
)
def websocket_session_kept_alive(ctx: CheckContext) -> Iterator[Violation]:
    """If the image carries `com.amazonaws.sagemaker.capabilities.bidirectional-streaming=true`, a WebSocket
    ping frame on `/invocations-bidirectional-stream` gets a pong with the same payload within 5 s, before and
    after the session answers a frame, and `GET /ping` answers 200 in under 2 s while the session is open and
    answering.

    Why: SageMaker keeps a stream alive with a WebSocket ping every 60 s and closes it after 5 unanswered, so a
    server that never answers pings loses every long session; RFC 6455 requires the pong, with the ping's
    payload. The health check keeps running during streams: a server whose sessions block its event loop or
    hold every worker fails /ping and is taken out of service while it streams.

    How: Skipped unless the image carries the label. Opens the WebSocket on the default server and pings with a
    random payload; sends the test-dir's payload as a text frame and, while it is answered, asks /ping three times
    over HTTP; then pings again. The frames both ways are the evidence.
    """
    claims_bidirectional(ctx)
    server = ctx.server()
    try:
        session = server.websocket(contract.BIDI_PATH, timeout=CONNECT_TIMEOUT_S)
    except WebSocketError as error:
        yield refused(error, "the upgrade was refused")
        return
    try:
        answered, problem = pong_for(session)
        if not answered:
            yield Violation(
                f"A ping frame on {contract.BIDI_PATH} got no pong",
                expected=f"a pong frame with the ping's payload within {PONG_WAIT_S:g} s (RFC 6455 section 5.5.2)",
                actual=problem,
                evidence=(
                    transcript(session),
                    (
                        "SageMaker",
                        f"pings every {contract.BIDI_PING_INTERVAL_S} s and "
                        f"closes the stream after {contract.BIDI_MISSED_PINGS} unanswered pings",
                    ),
                ),
                reproduce=reproduce_session("websocat --ping-interval 1 --ping-timeout 5 shows the missing pongs"),
            )
            return
        try:
            session.send_text(ctx.test_dir.payload.decode("utf-8", "replace"))
        except WebSocketError as error:
            ctx.note(f"the payload could not be sent as a text frame ({error}): /ping was asked with the session idle")
        slow = pings_during(server, session)
        if slow:
            yield Violation(
                "/ping was not healthy while a WebSocket session was answering",
                expected=f"200 in under {contract.PING_TIMEOUT_S:g} s for each of {PINGS_DURING_SESSION} pings",
                actual="; ".join(slow),
                evidence=(transcript(session),),
                reproduce=reproduce_session(f"meanwhile: curl -i http://localhost:{contract.PORT}{contract.PING_PATH}"),
            )
            return
        first_answer(session, ANSWER_WAIT_S)
        answered, problem = pong_for(session)
        if not answered:
            yield Violation(
                f"A ping frame on {contract.BIDI_PATH} got no pong once the session had answered a frame",
                expected=f"a pong frame with the ping's payload within {PONG_WAIT_S:g} s (RFC 6455 section 5.5.2)",
                actual=problem,
                evidence=(transcript(session),),
                reproduce=reproduce_session("send a prompt, then ping"),
            )
    finally:
        session.close()
