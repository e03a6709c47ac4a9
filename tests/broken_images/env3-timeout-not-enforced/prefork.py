#!/usr/bin/env python3
"""A small pre-fork WSGI server from the standard library, as teams write one to drop gunicorn:

    prefork.py --bind HOST:PORT --workers N --threads K --timeout T --chdir DIR module:app

The master binds the socket and forks N workers that share it; each worker imports the app and serves
requests on K threads. The master restarts a worker that dies and stops them all on SIGTERM.

Broken on purpose (ENV-3): --timeout is parsed and logged, so it shows on the command line, but nothing
enforces it: a worker that stops answering holds its requests for ever.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import socket
import socketserver
import sys
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

log = logging.getLogger("prefork")


class Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        log.info("%s", format % args)


class ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


def serve_forever(listener: socket.socket, app_path: str, threads: int) -> None:
    module, _, name = app_path.partition(":")
    app = getattr(importlib.import_module(module), name or "app")
    server = ThreadedServer(listener.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.server_name, server.server_port = "localhost", listener.getsockname()[1]
    server.setup_environ()
    server.set_app(app)
    log.info("worker %d serving %s (%d threads)", os.getpid(), app_path, threads)
    server.serve_forever()


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s prefork[%(process)d] %(message)s")
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", default="0.0.0.0:8080")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--chdir", default=".")
    parser.add_argument("app")
    args = parser.parse_args()
    os.chdir(args.chdir)
    sys.path.insert(0, args.chdir)
    # broken: the timeout is only logged; no worker is ever timed, killed or replaced while it is alive
    log.info("request timeout %d s", args.timeout)

    host, _, port = args.bind.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(128)

    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    workers: set[int] = set()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                serve_forever(listener, args.app, args.threads)
            finally:
                os._exit(1)
        workers.add(pid)

    for _ in range(args.workers):
        spawn()
    while not stopping:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid in workers:
            workers.discard(pid)
            log.warning("worker %d exited (%d): starting another", pid, os.waitstatus_to_exitcode(status))
            spawn()
        time.sleep(0.2)
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    for pid in workers:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
