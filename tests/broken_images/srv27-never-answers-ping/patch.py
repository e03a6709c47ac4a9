"""SRV-27: the WebSocket layer never answers a ping frame (the protocol's answer is switched off, as in a hand-rolled
WebSocket server that drops control frames), so SageMaker would close every stream after five unanswered pings. Text
and binary frames are answered, and /ping stays healthy."""

from edit import replace

replace(
    "/opt/program/app.py",
    """log = logging.getLogger("app")
""",
    """log = logging.getLogger("app")

from websockets.frames import Opcode  # noqa: E402
from websockets.protocol import Protocol  # noqa: E402

_answer_frame = Protocol.recv_frame


def _drop_pings(self: Protocol, frame: object) -> None:
    if getattr(frame, "opcode", None) is Opcode.PING:
        return  # broken: a ping frame is read and dropped, never answered
    _answer_frame(self, frame)


Protocol.recv_frame = _drop_pings
""",
)
