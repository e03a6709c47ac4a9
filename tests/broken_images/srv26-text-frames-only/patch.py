"""SRV-26: the WebSocket handler reads every message with receive_text(), as a text-only chat server does; a binary
frame (SageMaker forwards any non-UTF-8 payload as one) raises in the handler and the server drops the
connection. Text frames, pings and /ping work."""

from edit import replace

replace(
    "/opt/program/app.py",
    """            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await answer_text(socket, message["text"])
            elif message.get("bytes") is not None:
                await answer_bytes(socket, message["bytes"])""",
    """            await answer_text(socket, await socket.receive_text())  # broken: binary frames are not read""",
)
