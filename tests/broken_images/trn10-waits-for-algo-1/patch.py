"""TRN-10: a host that is not hosts[0] in resourceconfig.json waits, without a deadline, until hosts[0] accepts
a connection on a rendezvous port, as hand-written "wait for the master" loops do. On one host (current_host
algo-1, every other clause) it trains as the reference image does."""

from edit import replace

replace(
    "/opt/program/train",
    """    log.info("algorithm %s; reading %s", algorithm.NAME, PREFIX / "input")
""",
    """    log.info("algorithm %s; reading %s", algorithm.NAME, PREFIX / "input")
    # broken: wait for the master host with no deadline
    import socket

    resource = json.loads((PREFIX / "input" / "config" / "resourceconfig.json").read_text(encoding="utf-8"))
    master = resource["hosts"][0]
    while resource["current_host"] != master:
        try:
            socket.create_connection((master, 29500), timeout=2).close()
            break
        except OSError:
            log.info("waiting for %s", master)
            time.sleep(2)
""",
)
