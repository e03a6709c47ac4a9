"""HTTP as it crosses the wire, where ``requests`` hides it: several requests on one kept connection (SRV-20), and an
answer read as it arrives, part by part, with its framing (SRV-22..SRV-24, ENV-10, ENV-11).

``requests`` reconnects quietly when a pooled connection was closed and joins a chunked body before handing it
over; these clauses judge exactly that, so they speak ``http.client`` here, and nowhere else.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from conformance.http import Exchange

Request = tuple[str, str, bytes, Mapping[str, str]]
"""method, path, body, headers."""


@dataclass(frozen=True)
class Turn:
    """One request on a kept connection, and what the server did with the connection after answering it."""

    exchange: Exchange
    reused: bool
    """Sent on a connection an earlier answer left open."""
    announced_close: bool
    """The answer said the connection ends (``Connection: close``, or HTTP/1.0 without keep-alive)."""
    closed_after: float | None
    """Seconds after the answer at which the server closed the connection without announcing it; None: it stayed
    open while watched (or the close was announced)."""


@dataclass(frozen=True)
class Streamed:
    """An answer read as it arrived: the whole exchange, and each part with the time it came."""

    exchange: Exchange
    """The request and the whole answer (its body every part joined); ``error`` when the stream broke."""
    parts: tuple[tuple[float, bytes], ...]
    """(seconds since the request was sent, bytes) for each read, in order."""
    chunked: bool
    """The answer used ``Transfer-Encoding: chunked``."""
    version: str
    """``HTTP/1.1`` or ``HTTP/1.0``."""

    @property
    def first_byte(self) -> float | None:
        return self.parts[0][0] if self.parts else None

    @property
    def last_byte(self) -> float | None:
        return self.parts[-1][0] if self.parts else None


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "localhost", parts.port or 80


def _exchange(
    method: str,
    url: str,
    request: Request,
    response: http.client.HTTPResponse | None,
    body: bytes,
    elapsed: float,
    error: str | None = None,
    payload_file: Path | None = None,
) -> Exchange:
    headers = {k.lower(): v for k, v in response.getheaders()} if response is not None else {}
    return Exchange(
        method,
        url,
        dict(request[3]),
        request[2],
        response.status if response is not None else None,
        response.reason if response is not None else "",
        headers,
        body,
        elapsed,
        error=error,
        payload_file=payload_file,
    )


def _closed_within(sock: socket.socket | None, linger: float) -> float | None:
    """Seconds until the peer closed ``sock`` (EOF or reset), watched for ``linger`` seconds; None if it did not."""
    if sock is None:
        return 0.0
    started = time.perf_counter()
    ready, _, _ = select.select([sock], [], [], linger)
    if not ready:
        return None
    try:
        early = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return time.perf_counter() - started
    # Bytes before any request would be a protocol error of their own; only a close is judged here.
    return time.perf_counter() - started if early == b"" else None


def keep_alive(base_url: str, requests: Sequence[Request], *, timeout: float, linger: float) -> list[Turn]:
    """Send ``requests`` one after the other on one HTTP/1.1 connection, as a front end that keeps connections does;
    after each answer that leaves the connection open, watch it for ``linger`` seconds for a close. A request that
    fails on a reused connection is recorded, and the next one opens a fresh connection."""
    host, port = _address(base_url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    turns: list[Turn] = []
    reused = False
    try:
        for request in requests:
            method, path, body, headers = request
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body or None, headers=dict(headers))
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                message = f"{type(error).__name__}: {error}"
                exchange = _exchange(
                    method, base_url + path, request, None, b"", time.perf_counter() - started, message
                )
                turns.append(Turn(exchange, reused, False, None))
                connection.close()
                reused = False
                continue
            exchange = _exchange(method, base_url + path, request, response, data, time.perf_counter() - started)
            announced = bool(response.will_close)
            closed = None if announced else _closed_within(connection.sock, linger)
            turns.append(Turn(exchange, reused, announced, closed))
            reused = not announced
    finally:
        connection.close()
    return turns


def stream(
    base_url: str, request: Request, *, timeout: float, payload_file: Path | None = None, read_size: int = 65536
) -> Streamed:
    """Send one request on a fresh connection and read its answer as it arrives: each read is one part, at most
    one chunk of a chunked answer, timed from the moment the request was sent."""
    method, path, body, headers = request
    host, port = _address(base_url)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    parts: list[tuple[float, bytes]] = []
    response: http.client.HTTPResponse | None = None
    started = time.perf_counter()
    error = None
    try:
        connection.request(method, path, body=body or None, headers=dict(headers))
        response = connection.getresponse()
        while True:
            data = response.read1(read_size)
            if not data:
                break
            parts.append((time.perf_counter() - started, data))
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}"
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    joined = b"".join(data for _, data in parts)
    exchange = _exchange(method, base_url + path, request, response, joined, elapsed, error, payload_file)
    version = "HTTP/1.1" if response is None or response.version == 11 else "HTTP/1.0"
    return Streamed(exchange, tuple(parts), bool(response is not None and response.chunked), version)
