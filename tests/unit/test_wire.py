"""conformance.wire against real sockets on localhost: a kept connection and a streamed answer, as the harness reads
them from a container, with small servers that keep or break the rules."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from conformance import wire

Handler = Callable[[socket.socket], None]


@contextmanager
def serving(handler: Handler) -> Iterator[str]:
    """A one-connection-at-a-time server on localhost running ``handler`` per accepted connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                handler(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def read_request(conn: socket.socket) -> bool:
    """Read one request's head (the tests send no bodies); False when the client closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def keeps_alive(conn: socket.socket) -> None:
    while read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def closes_unannounced(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def closes_announced(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


PINGS = [("GET", "/ping", b"", {})] * 3


def test_a_kept_connection_takes_every_request() -> None:
    with serving(keeps_alive) as url:
        turns = wire.keep_alive(url, PINGS, timeout=5, linger=0.1)
    assert [t.exchange.status for t in turns] == [200, 200, 200]
    assert [t.reused for t in turns] == [False, True, True]
    assert all(t.closed_after is None and not t.announced_close for t in turns)


def test_an_unannounced_close_is_seen_and_the_next_request_fails_on_it() -> None:
    with serving(closes_unannounced) as url:
        turns = wire.keep_alive(url, PINGS, timeout=5, linger=0.5)
    assert turns[0].exchange.status == 200
    assert turns[0].closed_after is not None
    assert turns[0].closed_after < 0.5
    assert turns[1].reused
    assert turns[1].exchange.status is None
    assert turns[1].exchange.error
    assert turns[2].exchange.status == 200  # a fresh connection after the failure
    assert not turns[2].reused


def test_an_announced_close_is_kept_to() -> None:
    with serving(closes_announced) as url:
        turns = wire.keep_alive(url, PINGS, timeout=5, linger=0.1)
    assert [t.exchange.status for t in turns] == [200, 200, 200]
    assert all(t.announced_close and not t.reused and t.closed_after is None for t in turns)


def streams_three_events(conn: socket.socket) -> None:
    if not read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    for word in (b"a", b"b", b"c"):
        event = b"data: " + word + b"\n\n"
        conn.sendall(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        time.sleep(0.15)
    conn.sendall(b"0\r\n\r\n")


def test_a_streamed_answer_is_read_part_by_part_with_its_times() -> None:
    with serving(streams_three_events) as url:
        streamed = wire.stream(url, ("POST", "/invocations", b"{}", {"Accept": "text/event-stream"}), timeout=5)
    assert streamed.chunked
    assert streamed.exchange.status == 200
    assert streamed.exchange.body == b"data: a\n\ndata: b\n\ndata: c\n\n"
    assert len(streamed.parts) == 3
    assert streamed.first_byte is not None
    assert streamed.last_byte is not None
    assert streamed.last_byte - streamed.first_byte > 0.25
    assert "content-length" not in streamed.exchange.headers


def breaks_mid_stream(conn: socket.socket) -> None:
    if read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n")


def test_a_stream_cut_before_its_last_chunk_is_an_error_after_the_first_part() -> None:
    # No body: the fixture reads only the request's head, and a body left unread makes its close a reset.
    with serving(breaks_mid_stream) as url:
        streamed = wire.stream(url, ("POST", "/invocations", b"", {}), timeout=5)
    assert streamed.exchange.status == 200
    assert streamed.exchange.body == b"data: a\n\n"
    assert streamed.exchange.error
    assert "IncompleteRead" in streamed.exchange.error


def test_the_harness_client_resends_once_on_a_connection_the_server_dropped() -> None:
    """Other clauses judge their own subject, not SRV-20's: conformance.http sends again on a fresh connection."""
    import requests

    from conformance.http import send

    session = requests.Session()
    with serving(closes_unannounced) as url:
        answers = [send(session, "GET", url + "/ping", timeout=5) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 200], [a.error for a in answers]


def cuts_the_second_request_on_a_kept_connection(conn: socket.socket) -> None:
    """Answers the first request and keeps the connection; holds the next one on it, then closes it unanswered (a
    server giving up on a hung worker, as gunicorn does after its timeout)."""
    if not read_request(conn):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    if read_request(conn):
        time.sleep(0.6)


def test_a_request_the_server_cut_on_a_kept_connection_says_so_and_counts_its_whole_time() -> None:
    """The resend on a fresh connection answers, but the exchange keeps when the first connection was cut and the
    whole time the client waited: a cut is what ENV-3 looks for, and a duration the request's clock, not the
    resend's (ENV-3 once took a cut after 11 s for an answer after 0.07 s)."""
    import requests

    from conformance.http import send

    session = requests.Session()
    with serving(cuts_the_second_request_on_a_kept_connection) as url:
        first = send(session, "GET", url + "/ping", timeout=5)
        cut = send(session, "POST", url + "/invocations", timeout=5)
    assert first.status == 200
    assert first.dropped_after is None
    assert cut.status == 200, cut.error
    assert cut.dropped_after is not None
    assert cut.dropped_after >= 0.5
    assert cut.elapsed >= cut.dropped_after
