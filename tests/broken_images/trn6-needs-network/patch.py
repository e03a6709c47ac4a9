"""TRN-6: training finds "its own IP address" with the classic trick of routing a UDP socket to 8.8.8.8.

No packet is sent, but the kernel needs a route: with --network none (SageMaker's network isolation)
there is none, and training fails with "Network is unreachable" (a clean failure: exit 2, failure file).
"""

from edit import replace

replace(
    "/opt/program/train",
    """    import algorithm  # heavy (numpy, the ML library): imported after the signal handler is in place
""",
    """    import algorithm  # heavy (numpy, the ML library): imported after the signal handler is in place
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect(("8.8.8.8", 80))  # broken: needs a network route
    log.info("this host's address: %s", probe.getsockname()[0])
    probe.close()
""",
)
