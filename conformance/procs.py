"""Reading a running server's configuration from the outside: its process table and nginx's config.

ENV-1..3 observe what the container really runs, not what its source says: the worker processes
under the model server's master, the ``--timeout`` on that master's command line, and the
``proxy_read_timeout`` nginx applies to ``/invocations``. These functions are pure, so they are
tested on recorded tables and configs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    args: str


# Pre-fork model servers whose master forks the workers ENV-1 counts.
_SERVERS = re.compile(r"(^|[/\s])(gunicorn|uvicorn|hypercorn|granian|waitress-serve|multi-model-server|torchserve)\b")
# Children of a master that are not workers.
_HELPERS = re.compile(r"multiprocessing\.resource_tracker|semaphore_tracker")


@dataclass(frozen=True)
class WorkerCount:
    master: Process | None
    workers: tuple[Process, ...]

    @property
    def count(self) -> int:
        return len(self.workers)


def render_table(processes: Sequence[Process]) -> str:
    lines = [f"{'PID':>7} {'PPID':>7}  COMMAND"]
    lines += [f"{p.pid:>7} {p.ppid:>7}  {p.args}" for p in processes]
    return "\n".join(lines)


def count_workers(processes: Sequence[Process]) -> WorkerCount:
    """The model server's master and its worker children.

    The master is the outermost process that looks like a known pre-fork server; without one,
    the process with the most children running the same command as itself.
    """
    by_pid = {p.pid: p for p in processes}
    children: dict[int, list[Process]] = {}
    for process in processes:
        children.setdefault(process.ppid, []).append(process)

    def workers_of(master: Process) -> tuple[Process, ...]:
        return tuple(c for c in children.get(master.pid, []) if not _HELPERS.search(c.args))

    servers = [p for p in processes if _SERVERS.search(p.args)]
    masters = [p for p in servers if not (p.ppid in by_pid and _SERVERS.search(by_pid[p.ppid].args))]
    if masters:
        master = max(masters, key=lambda m: len(workers_of(m)))
        return WorkerCount(master, workers_of(master))
    best: WorkerCount = WorkerCount(None, ())
    for process in processes:
        same = tuple(c for c in children.get(process.pid, []) if c.args == process.args)
        if len(same) > best.count:
            best = WorkerCount(process, same)
    return best


def option_value(args: str, *names: str) -> str | None:
    """The value of ``--name V``, ``--name=V`` or ``-n V`` on a command line; the last one wins."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    value = None
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                value = words[index + 1]
            elif name.startswith("--") and word.startswith(name + "="):
                value = word.split("=", 1)[1]
    return value


def server_timeout(master: Process) -> float | None:
    """The request timeout on a gunicorn/uvicorn master's command line, if it is there."""
    value = option_value(master.args, "--timeout", "-t")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def nginx_master(processes: Sequence[Process]) -> Process | None:
    return next((p for p in processes if p.args.startswith("nginx: master process")), None)


def nginx_config_path(master: Process) -> str:
    return option_value(master.args.removeprefix("nginx: master process"), "-c") or "/etc/nginx/nginx.conf"


NGINX_DEFAULT_READ_TIMEOUT_S = 60.0
"""nginx's default ``proxy_read_timeout`` when a config sets none."""

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


def nginx_time(value: str) -> float:
    """Seconds in an nginx time value: ``60``, ``60s``, ``1m30s``, ``500ms``."""
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[smhdwMy]?)", value):
        total += int(number) * _UNITS.get(unit or "s", 1)
    return total


@dataclass
class _Block:
    name: str
    args: str
    directives: dict[str, str]
    blocks: list[_Block]


def _parse(config: str) -> _Block:
    text = re.sub(r"#[^\n]*", "", config)
    tokens = re.findall(r"\"[^\"]*\"|'[^']*'|[{};]|[^\s{};]+", text)
    root = _Block("", "", {}, [])
    stack = [root]
    words: list[str] = []
    for token in tokens:
        if token == "{":
            block = _Block(words[0] if words else "", " ".join(words[1:]), {}, [])
            stack[-1].blocks.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            if len(stack) > 1:
                stack.pop()
            words = []
        elif token == ";":
            if words:
                stack[-1].directives[words[0]] = " ".join(words[1:])
            words = []
        else:
            words.append(token.strip("\"'"))
    return root


def _select_location(locations: Sequence[_Block], path: str) -> _Block | None:
    """The location nginx picks for ``path``: an exact match; else the longest prefix if it is ``^~``;
    else the first matching regex, in file order; else the longest prefix."""
    longest: _Block | None = None
    longest_length = -1
    for location in locations:
        parts = location.args.split()
        if not parts:
            continue
        if parts[0] == "=" and len(parts) > 1:
            if parts[1] == path:
                return location
            continue
        if parts[0] in ("~", "~*"):
            continue
        prefix = parts[-1]
        if path.startswith(prefix) and len(prefix) > longest_length:
            longest, longest_length = location, len(prefix)
    if longest is not None and longest.args.split()[0] == "^~":
        return longest
    for location in locations:
        parts = location.args.split()
        if len(parts) > 1 and parts[0] in ("~", "~*"):
            flags = re.IGNORECASE if parts[0] == "~*" else 0
            if re.search(parts[1], path, flags) is not None:
                return location
    return longest


def nginx_read_timeout(config: str, path: str) -> tuple[float, str]:
    """The ``proxy_read_timeout`` nginx applies to requests for ``path`` and where it was set.

    Reads ``nginx -T`` output (where included files follow the main one, so a ``server`` may stand at
    the top level): nginx's own location selection, then the innermost of location, server and http
    wins, and nginx's default of 60 s applies when none sets it. With several servers proxying the
    path, the shortest timeout is the one a request may meet.
    """
    root = _parse(config)
    https = [b for b in root.blocks if b.name == "http"]
    inherited = (NGINX_DEFAULT_READ_TIMEOUT_S, "nginx default")
    for http in https:
        if "proxy_read_timeout" in http.directives:
            inherited = (nginx_time(http.directives["proxy_read_timeout"]), "http block")
    servers = [b for http in https for b in http.blocks if b.name == "server"]
    servers += [b for b in root.blocks if b.name == "server"]
    found: list[tuple[float, str]] = []
    fallback = inherited
    for server in servers:
        server_value = inherited
        if "proxy_read_timeout" in server.directives:
            server_value = (nginx_time(server.directives["proxy_read_timeout"]), "server block")
        location = _select_location([b for b in server.blocks if b.name == "location"], path)
        if location is None or "proxy_pass" not in location.directives:
            # nginx answers this path itself here; the server's value is what a proxied request would get.
            fallback = server_value
            continue
        value = location.directives.get("proxy_read_timeout")
        found.append((nginx_time(value), f"location {location.args}") if value is not None else server_value)
    return min(found) if found else fallback


def listening_sockets(proc_net_tcp: str) -> list[str]:
    """``address:port`` of each listening socket in ``/proc/net/tcp`` and ``tcp6`` text."""
    found = []
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != "0A" or ":" not in fields[1]:
            continue
        address, port = fields[1].split(":")
        if len(address) == 8:
            octets = [str(int(address[i : i + 2], 16)) for i in range(6, -1, -2)]
            host = ".".join(octets)
        else:
            host = "[::]" if set(address) == {"0"} else f"[{address}]"
        found.append(f"{host}:{int(port, 16)}")
    return sorted(set(found))
