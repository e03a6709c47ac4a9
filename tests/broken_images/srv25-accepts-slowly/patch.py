"""SRV-25: the WebSocket handler prepares the session (a second of set-up, as loading per-session state would take)
before it accepts the upgrade, so every stream starts late. Everything else works."""

from edit import replace

replace(
    "/opt/program/app.py",
    """async def bidirectional(socket: WebSocket) -> None:
    await socket.accept()""",
    """async def bidirectional(socket: WebSocket) -> None:
    await anyio.sleep(1.0)  # broken: per-session set-up before the upgrade is accepted
    await socket.accept()""",
)
