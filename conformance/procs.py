"""Reading a running server's configuration from the outside: its process table and nginx's config.

ENV-1..3 observe what the container really runs, not what its source says: the processes that run
the model (the workers), the ``--timeout`` on the server's command line, and the
``proxy_read_timeout`` nginx applies to ``/invocations``. These functions are pure, so they are
tested on recorded tables and configs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from conformance import contract


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    args: str


# Model servers whose master starts the workers ENV-1 counts (pre-fork servers and uvicorn's
# --workers supervisor), or that run the model in their own process when they start none.
_SERVERS = re.compile(r"(^|[/\s])(gunicorn|uvicorn|hypercorn|granian|waitress-serve|multi-model-server|torchserve)\b")
# Children of a master that are not workers.
_HELPERS = re.compile(r"multiprocessing\.resource_tracker|semaphore_tracker")
# The Python backend of Multi Model Server (mms/) and TorchServe (ts/): one process per worker, or one
# listener that forks one child per worker connection, all with the same command line.
_BACKEND_WORKER = re.compile(r"(^|[/\s])(mms|ts)/model_service_worker\.py\b|model_service_worker\b")


@dataclass(frozen=True)
class WorkerCount:
    master: Process | None
    workers: tuple[Process, ...]
    rule: str = ""

    @property
    def count(self) -> int:
        return len(self.workers)


def render_table(processes: Sequence[Process]) -> str:
    lines = [f"{'PID':>7} {'PPID':>7}  COMMAND"]
    lines += [f"{p.pid:>7} {p.ppid:>7}  {p.args}" for p in processes]
    return "\n".join(lines)


def count_workers(processes: Sequence[Process]) -> WorkerCount:
    """The model server's master and the processes that run the model (its workers).

    - Multi Model Server and TorchServe: a Java frontend starts Python backends
      (``model_service_worker.py``). TorchServe runs one backend per worker; MMS runs one listener
      per socket that forks a child per worker connection, all sharing one command line. The
      workers are the backends with no backend child: MMS's forked children (or a listener that
      has not forked yet), TorchServe's backends. The master is the frontend above them.
    - gunicorn (sync, gthread, gevent, uvicorn worker class), uvicorn ``--workers``, hypercorn,
      granian: the outermost process that looks like a known server is the master, and its
      children are the workers, except multiprocessing's resource tracker.
    - A known server with no worker children (waitress, uvicorn without ``--workers``) runs the
      model in its own process: that process is the one worker.
    - Otherwise, the process with the most children running its own command line (a script that
      forks copies of itself); with none, no worker is visible.
    """
    by_pid = {p.pid: p for p in processes}
    children: dict[int, list[Process]] = {}
    for process in processes:
        children.setdefault(process.ppid, []).append(process)

    backends = [p for p in processes if _BACKEND_WORKER.search(p.args)]
    if backends:
        leaves = tuple(b for b in backends if not any(_BACKEND_WORKER.search(c.args) for c in children.get(b.pid, [])))
        top = backends[0]
        while top.ppid in by_pid and _BACKEND_WORKER.search(by_pid[top.ppid].args):
            top = by_pid[top.ppid]
        frontend = by_pid.get(top.ppid)
        return WorkerCount(frontend, leaves, "model_service_worker backends without a forked backend child")

    def workers_of(master: Process) -> tuple[Process, ...]:
        return tuple(c for c in children.get(master.pid, []) if not _HELPERS.search(c.args))

    servers = [p for p in processes if _SERVERS.search(p.args)]
    masters = [p for p in servers if not (p.ppid in by_pid and _SERVERS.search(by_pid[p.ppid].args))]
    if masters:
        master = max(masters, key=lambda m: len(workers_of(m)))
        workers = workers_of(master)
        if workers:
            return WorkerCount(master, workers, "children of the model server's master")
        return WorkerCount(master, (master,), "a single-process server: the server itself runs the model")
    best: WorkerCount = WorkerCount(None, ())
    for process in processes:
        same = tuple(c for c in children.get(process.pid, []) if c.args == process.args)
        if len(same) > best.count:
            best = WorkerCount(process, same, "children running their parent's command line")
    return best


PROC_TABLE_SCRIPT = (
    'printf "%s" "$$"; for d in /proc/[0-9]*; do '
    'printf "\\036%s\\037" "${d#/proc/}"; cat "$d/stat" "$d/cmdline" 2>/dev/null; done; exit 0'
)
"""A process table with the container's own PIDs, for ``docker exec IMAGE sh -c``: ``docker top``
shows the host's PIDs, which ``kill`` inside the container cannot use. Needs only ``sh`` and ``cat``. It exits 0
even when the last process it globbed exits before it is read (the loop's status would be that ``cat``'s)."""


def parse_proc_dump(output: str) -> list[Process]:
    """The processes in :data:`PROC_TABLE_SCRIPT`'s output, without the script itself and its children."""
    head, _, rest = output.partition("\036")
    own = int(head) if head.strip().isdigit() else -1
    processes = []
    for record in ("\036" + rest).split("\036")[1:]:
        pid_text, _, body = record.partition("\037")
        stat, _, cmdline = body.partition("\n")
        if not pid_text.isdigit() or ")" not in stat:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 1 :].split()
        if len(fields) < 2 or not fields[1].isdigit():
            continue
        pid, ppid = int(pid_text), int(fields[1])
        if own in (pid, ppid):
            continue
        args = " ".join(part for part in cmdline.split("\0") if part) or f"[{comm}]"
        processes.append(Process(pid, ppid, args))
    return sorted(processes, key=lambda p: p.pid)


@dataclass(frozen=True)
class Stack:
    """A serving stack recognised in a process table, and the variables it reads."""

    name: str
    workers_env: str
    timeout_env: str
    reason: str
    evidence: str


_STACKS = (
    (
        re.compile(r"sagemaker-mms\.properties|sagemaker_inference"),
        "the SageMaker Inference Toolkit on Multi Model Server",
        contract.TOOLKIT_WORKERS_ENV,
        contract.TOOLKIT_TIMEOUT_SECONDS_ENV,
        f"the toolkit writes {contract.TOOLKIT_WORKERS_ENV} into MMS's default_workers_per_model and "
        f"{contract.TOOLKIT_TIMEOUT_SECONDS_ENV} into default_response_timeout_seconds "
        f"(MMS reads {contract.TOOLKIT_TIMEOUT_ENV} as minutes)",
    ),
    (
        re.compile(r"mlflow[./]models[./]container|mlflow\.models import container|mlflow\.pyfunc\.scoring_server"),
        "MLflow's scoring container",
        contract.MLFLOW_WORKERS_ENV,
        contract.MLFLOW_TIMEOUT_ENV,
        f"mlflow.models.container starts {contract.MLFLOW_WORKERS_ENV} scoring-server workers and the scoring "
        f"server's request timeout is {contract.MLFLOW_TIMEOUT_ENV}",
    ),
)


def recognise_stack(processes: Sequence[Process]) -> Stack | None:
    """The known serving stack whose processes run in this table, if one does."""
    for pattern, name, workers, timeout, reason in _STACKS:
        for process in processes:
            if pattern.search(process.args):
                return Stack(name, workers, timeout, reason, f"PID {process.pid}: {process.args}")
    return None


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
