"""conformance/websocket.py against a small RFC 6455 server on a real socket (a thread of this test)."""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from conformance.websocket import Opcode, WebSocket, WebSocketError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_frame(conn: socket.socket) -> tuple[int, bytes]:
    head = conn.recv(2, socket.MSG_WAITALL)
    size = head[1] & 0x7F
    assert head[1] & 0x80, "client frames are masked"
    if size == 126:
        size = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))[0]
    elif size == 127:
        size = struct.unpack("!Q", conn.recv(8, socket.MSG_WAITALL))[0]
    mask = conn.recv(4, socket.MSG_WAITALL)
    data = conn.recv(size, socket.MSG_WAITALL) if size else b""
    return head[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return bytes([(0x80 if fin else 0) | opcode, len(payload)]) + payload


def serve(listener: socket.socket, status: str, received: list[tuple[int, bytes]]) -> None:
    conn, _ = listener.accept()
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(1024)
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.decode().split("\r\n")
            if line.lower().startswith("sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        upgrade = "Upgrade: websocket\r\nConnection: Upgrade"
        conn.sendall(f"HTTP/1.1 {status}\r\n{upgrade}\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode())
        if not status.startswith("101"):
            return
        # A ping of its own first: the client must answer it without handing it to the caller.
        conn.sendall(frame(Opcode.PING, b"server-ping"))
        while True:
            opcode, data = read_frame(conn)
            received.append((opcode, data))
            if opcode == Opcode.TEXT:  # answered in two fragments
                conn.sendall(frame(Opcode.TEXT, data[:2], fin=False) + frame(Opcode.CONTINUATION, data[2:]))
            elif opcode == Opcode.BINARY:
                conn.sendall(frame(Opcode.BINARY, data[::-1]))
            elif opcode == Opcode.PING:
                conn.sendall(frame(Opcode.PONG, data))
            elif opcode == Opcode.CLOSE:
                conn.sendall(frame(Opcode.CLOSE, data))
                return


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    status = getattr(request, "param", "101 Switching Protocols")
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[tuple[int, bytes]] = []
    thread = threading.Thread(target=serve, args=(listener, status, received), daemon=True)
    thread.start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}/invocations-bidirectional-stream", received
    thread.join(5)
    listener.close()


def test_a_session_answers_text_binary_and_ping(server: tuple[str, list[tuple[int, bytes]]]) -> None:
    url, received = server
    session = WebSocket.connect(url, timeout=5)
    assert 0 <= session.accept_seconds < 5
    session.send_text("hello there")
    answer = session.receive(5)
    assert answer is not None
    assert (answer.opcode, answer.payload) == (Opcode.TEXT, b"hello there"), "fragments are reassembled"
    session.send_binary(b"\x00\x01\xff")
    answer = session.receive(5)
    assert answer is not None
    assert (answer.opcode, answer.payload) == (Opcode.BINARY, b"\xff\x01\x00")
    session.ping(b"p-1")
    answer = session.receive(5)
    assert answer is not None
    assert (answer.opcode, answer.payload) == (Opcode.PONG, b"p-1")
    assert session.receive(0.2) is None
    session.close()
    assert (Opcode.PONG, b"server-ping") in received, "the server's own ping was answered"
    assert any("(answered)" in line for line in session.transcript)


@pytest.mark.parametrize("server", ["404 Not Found"], indirect=True)
def test_a_refused_upgrade_names_the_status(server: tuple[str, list[tuple[int, bytes]]]) -> None:
    url, _ = server
    with pytest.raises(WebSocketError, match="404 Not Found instead of 101"):
        WebSocket.connect(url, timeout=5)


def test_a_closed_port_is_a_websocket_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(WebSocketError, match="cannot connect"):
        WebSocket.connect(f"ws://127.0.0.1:{port}/x", timeout=2)
