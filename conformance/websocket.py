"""A WebSocket client that speaks RFC 6455 over one socket, as SageMaker's front end speaks to a container.

The harness needs what a library hides: the time the upgrade takes, whether a ping frame the client sends gets its
pong (libraries answer and await pings themselves), and each frame as it arrives, text or binary. So the client is
this module, on the standard library: the opening handshake (section 4), masked client frames (5.3), control frames
(5.5), and fragmented messages reassembled (5.4). Frames the server pings with are answered, as the front end does.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol
from urllib.parse import urlsplit

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""RFC 6455 section 1.3: Sec-WebSocket-Accept is base64(SHA-1(key + this GUID))."""
_MAX_HEAD = 65536


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class WebSocketError(Exception):
    """The server refused the upgrade, broke the protocol, or closed the connection."""


@dataclass(frozen=True)
class Frame:
    """One message (data frames reassembled) or one control frame, as received."""

    opcode: Opcode
    payload: bytes
    at: float
    """time.monotonic() when it arrived."""

    def describe(self) -> str:
        kind = self.opcode.name.lower()
        if self.opcode == Opcode.CLOSE and len(self.payload) >= 2:
            code = struct.unpack("!H", self.payload[:2])[0]
            return f"close frame {code} {self.payload[2:].decode('utf-8', 'replace')!r}".strip()
        shown = self.payload[: 120 if self.opcode != Opcode.BINARY else 32]
        text = shown.decode("utf-8", "replace") if self.opcode != Opcode.BINARY else shown.hex(" ")
        more = f" (+{len(self.payload) - len(shown)} bytes)" if len(self.payload) > len(shown) else ""
        return f"{kind} frame of {len(self.payload)} bytes: {text!r}{more}"


class Session(Protocol):
    """What a check may do with an open WebSocket (:class:`WebSocket` on a real server, a fake in the unit tests)."""

    url: str
    accept_seconds: float
    transcript: list[str]

    def send_text(self, text: str) -> None: ...

    def send_binary(self, data: bytes) -> None: ...

    def ping(self, payload: bytes) -> None: ...

    def receive(self, timeout: float) -> Frame | None: ...

    def close(self) -> None: ...


@dataclass
class WebSocket:
    """An open session. ``transcript`` records every frame both ways, for a failure's evidence."""

    sock: socket.socket
    url: str
    accept_seconds: float
    """From the upgrade request's last byte sent to the 101 response's last header byte received."""
    response_head: str
    transcript: list[str] = field(default_factory=list)
    _buffer: bytes = b""
    closed: bool = False

    @classmethod
    def connect(cls, url: str, *, timeout: float, headers: dict[str, str] | None = None) -> WebSocket:
        """The opening handshake; WebSocketError when the server does not switch protocols (its status and body)."""
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port or 80
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise WebSocketError(f"cannot connect to {host}:{port}: {error}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            sent = time.monotonic()
            head, rest = b"", b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    raise WebSocketError(f"the server closed the connection during the handshake after {head!r}")
                head += chunk
                if len(head) > _MAX_HEAD:
                    raise WebSocketError("the handshake response's head exceeds 64 KiB")
            seconds = time.monotonic() - sent
            head, _, rest = head.partition(b"\r\n\r\n")
        except (OSError, WebSocketError):
            sock.close()
            raise
        text = head.decode("iso-8859-1")
        status_line, *header_lines = text.split("\r\n")
        got = {n.strip().lower(): v.strip() for n, _, v in (h.partition(":") for h in header_lines)}
        expected_accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        if status_line.split(" ")[1:2] != ["101"]:
            sock.settimeout(1)
            try:
                rest += sock.recv(2048)
            except OSError:
                pass
            sock.close()
            raise WebSocketError(f"{status_line.strip()} instead of 101 Switching Protocols: {rest[:300]!r}")
        if got.get("sec-websocket-accept") != expected_accept:
            sock.close()
            answer = got.get("sec-websocket-accept")
            raise WebSocketError(f"Sec-WebSocket-Accept is {answer!r}, not {expected_accept!r}")
        session = cls(sock, url, seconds, text)
        session._buffer = rest
        return session

    def send(self, opcode: Opcode, payload: bytes) -> None:
        """One frame, FIN set, masked as every client frame must be (section 5.3)."""
        head = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transcript.append(f"> {Frame(opcode, payload, time.monotonic()).describe()}")
        try:
            self.sock.sendall(head + mask + masked)
        except OSError as error:
            raise WebSocketError(f"the connection failed while sending: {error}") from None

    def send_text(self, text: str) -> None:
        self.send(Opcode.TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        self.send(Opcode.BINARY, data)

    def ping(self, payload: bytes) -> None:
        self.send(Opcode.PING, payload)

    def receive(self, timeout: float) -> Frame | None:
        """The next message or control frame within ``timeout`` seconds, None when nothing came. Pings from the
        server are answered with their pong and recorded, not returned. WebSocketError when the connection ends
        without a close frame."""
        deadline = time.monotonic() + timeout
        message: list[bytes] = []
        message_opcode: Opcode | None = None
        while True:
            frame = self._read_frame(deadline)
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode == Opcode.PING:
                self.transcript.append(f"< {Frame(opcode, payload, time.monotonic()).describe()} (answered)")
                self.send(Opcode.PONG, payload)
                continue
            if opcode >= Opcode.CLOSE:
                received = Frame(opcode, payload, time.monotonic())
                self.transcript.append(f"< {received.describe()}")
                if opcode == Opcode.CLOSE:
                    self.closed = True
                return received
            if opcode != Opcode.CONTINUATION:
                message_opcode = opcode
            message.append(payload)
            if fin and message_opcode is not None:
                received = Frame(message_opcode, b"".join(message), time.monotonic())
                self.transcript.append(f"< {received.describe()}")
                return received

    def _read_exactly(self, count: int, deadline: float) -> bytes | None:
        while len(self._buffer) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            except OSError as error:
                raise WebSocketError(f"the connection failed: {error}") from None
            if not chunk:
                self.closed = True
                raise WebSocketError("the server closed the TCP connection without a close frame")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _read_frame(self, deadline: float) -> tuple[bool, Opcode, bytes] | None:
        # A frame that has begun to arrive is read to its end, past the deadline: the stream stays in step.
        head = self._read_exactly(2, deadline)
        if head is None:
            return None
        later = max(deadline, time.monotonic() + 5)
        fin, opcode, size = bool(head[0] & 0x80), head[0] & 0x0F, head[1] & 0x7F
        if head[1] & 0x80:
            raise WebSocketError("the server masked a frame (RFC 6455 section 5.1: a server must not)")
        if size >= 126:
            extended = self._read_exactly(2 if size == 126 else 8, later)
            if extended is None:
                raise WebSocketError("a frame's length never arrived")
            size = struct.unpack("!H" if len(extended) == 2 else "!Q", extended)[0]
        payload = self._read_exactly(size, later) if size else b""
        if payload is None:
            raise WebSocketError(f"a frame of {size} bytes never arrived in full")
        try:
            return fin, Opcode(opcode), payload
        except ValueError:
            raise WebSocketError(f"the server sent a frame with the reserved opcode {opcode:#x}") from None

    def close(self) -> None:
        """The closing handshake, briefly (1000 Normal Closure), then the socket."""
        if not self.closed:
            try:
                self.send(Opcode.CLOSE, struct.pack("!H", 1000))
                self.closed = True
            except WebSocketError:
                pass
        self.sock.close()
