"""Reading a server's configuration from outside: recorded process tables, nginx configs and /proc/net/tcp."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conformance.procs import (
    NGINX_DEFAULT_READ_TIMEOUT_S,
    PROC_TABLE_SCRIPT,
    Process,
    count_workers,
    listening_sockets,
    nginx_config_path,
    nginx_master,
    nginx_read_timeout,
    nginx_time,
    option_value,
    parse_proc_dump,
    recognise_stack,
    render_table,
    server_timeout,
)

from .checkfakes import PROC_NET_TCP6_ALL, PROC_NET_TCP_ALL, PROC_NET_TCP_LOOPBACK
from .fakeserver import proc_dump


def table(text: str) -> list[Process]:
    """Rows of ``docker top CONTAINER -eo pid,ppid,args``, as the engine returns them."""
    rows = []
    for line in text.strip().splitlines()[1:]:
        pid, ppid, args = line.split(None, 2)
        rows.append(Process(int(pid), int(ppid), args))
    return rows


GUNICORN = table("""
PID     PPID    COMMAND
1       0       /usr/bin/python3 /opt/program/serve
27      1       nginx: master process nginx -c /tmp/nginx.conf -g daemon off;
28      1       /usr/bin/python3 /usr/local/bin/gunicorn --timeout 97 -k sync -b unix:/tmp/gunicorn.sock --workers 3 wsgi:app
31      27      nginx: worker process
32      28      /usr/bin/python3 /usr/local/bin/gunicorn --timeout 97 -k sync -b unix:/tmp/gunicorn.sock --workers 3 wsgi:app
33      28      /usr/bin/python3 /usr/local/bin/gunicorn --timeout 97 -k sync -b unix:/tmp/gunicorn.sock --workers 3 wsgi:app
34      28      /usr/bin/python3 /usr/local/bin/gunicorn --timeout 97 -k sync -b unix:/tmp/gunicorn.sock --workers 3 wsgi:app
""")  # noqa: E501  (recorded as docker top prints it)

# gunicorn with setproctitle installed: titles instead of command lines.
GUNICORN_TITLES = table("""
PID     PPID    COMMAND
1       0       gunicorn: master [predictor:app]
7       1       gunicorn: worker [predictor:app]
8       1       gunicorn: worker [predictor:app]
""")

# uvicorn --workers 3 spawns its workers through multiprocessing, with a resource tracker beside them.
UVICORN = table("""
PID     PPID    COMMAND
1       0       /usr/local/bin/python /usr/local/bin/uvicorn app:app --host 0.0.0.0 --port 8080 --workers 3
8       1       /usr/local/bin/python -c from multiprocessing.resource_tracker import main;main(4)
9       1       /usr/local/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7) --multiprocessing-fork
10      1       /usr/local/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=9) --multiprocessing-fork
11      1       /usr/local/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=11) --multiprocessing-fork
""")  # noqa: E501

# No server the harness knows: a script that forks two copies of itself.
FORKING_SCRIPT = table("""
PID     PPID    COMMAND
1       0       /bin/sh -c python /opt/program/server.py
6       1       python /opt/program/server.py
7       6       python /opt/program/server.py
8       6       python /opt/program/server.py
9       6       /usr/bin/tail -f /dev/null
""")


def test_gunicorn_master_and_three_workers() -> None:
    count = count_workers(GUNICORN)
    assert count.master is not None
    assert count.master.pid == 28
    assert [w.pid for w in count.workers] == [32, 33, 34]
    assert count.count == 3


def test_gunicorn_with_process_titles() -> None:
    count = count_workers(GUNICORN_TITLES)
    assert count.master == GUNICORN_TITLES[0]
    assert count.count == 2


def test_uvicorn_spawned_workers_without_the_resource_tracker() -> None:
    count = count_workers(UVICORN)
    assert count.master == UVICORN[0]
    assert [w.pid for w in count.workers] == [9, 10, 11]


def test_nginx_workers_are_not_model_server_workers() -> None:
    assert nginx_master(GUNICORN) == GUNICORN[1]
    assert all("nginx" not in w.args for w in count_workers(GUNICORN).workers)


def test_fallback_without_a_known_server() -> None:
    count = count_workers(FORKING_SCRIPT)
    assert count.master == FORKING_SCRIPT[1]
    assert [w.pid for w in count.workers] == [7, 8]


def test_an_unknown_single_process_shows_no_workers() -> None:
    count = count_workers(table("PID PPID COMMAND\n1 0 python /opt/program/serve.py"))
    assert count.master is None
    assert count.count == 0


# Recorded with `ps -eo pid,ppid,args` in the SageMaker Inference Toolkit 1.10.1 on Multi Model Server 1.1.11 with
# SAGEMAKER_MODEL_SERVER_WORKERS=2: the Java frontend starts one Python listener, which forks one child per worker
# connection; listener and children share one command line.
MMS = table("""
PID     PPID    COMMAND
1       0       python /usr/local/bin/dockerd-entrypoint.py serve
8       1       [multi-model-ser] <defunct>
9       1       java -Dmodel_server_home=/opt/venv/lib/python3.11/site-packages -Dlog4j.configurationFile=file:///opt/venv/lib/python3.11/site-packages/sagemaker_inference/etc/log4j2.xml -XX:-UseContainerSupport -cp .:/opt/venv/lib/python3.11/site-packages/mms/frontend/* com.amazonaws.ml.mms.ModelServer --python /opt/venv/bin/python3 -f /etc/sagemaker-mms.properties -s / -m model=/opt/ml/model
32      9       /opt/venv/bin/python3 /opt/venv/lib/python3.11/site-packages/mms/model_service_worker.py --sock-type unix --sock-name /tmp/.mms.sock.9000 --handler iris_serving.handler_service --model-path /opt/ml/model --model-name model --preload-model false --tmp-dir /tmp
42      32      /opt/venv/bin/python3 /opt/venv/lib/python3.11/site-packages/mms/model_service_worker.py --sock-type unix --sock-name /tmp/.mms.sock.9000 --handler iris_serving.handler_service --model-path /opt/ml/model --model-name model --preload-model false --tmp-dir /tmp
43      32      /opt/venv/bin/python3 /opt/venv/lib/python3.11/site-packages/mms/model_service_worker.py --sock-type unix --sock-name /tmp/.mms.sock.9000 --handler iris_serving.handler_service --model-path /opt/ml/model --model-name model --preload-model false --tmp-dir /tmp
""")  # noqa: E501

# TorchServe: the frontend starts one backend per worker, each on its own socket, and none forks.
TORCHSERVE = table("""
PID     PPID    COMMAND
1       0       /bin/bash /usr/local/bin/dockerd-entrypoint.sh serve
7       1       java -Dmodel_server_home=/usr/local/lib/python3.10/dist-packages -Djava.io.tmpdir=/home/model-server/tmp -cp .:/usr/local/lib/python3.10/dist-packages/ts/frontend/* org.pytorch.serve.ModelServer --python /usr/bin/python3 -f /home/model-server/config.properties -s /home/model-server/model-store
45      7       /usr/bin/python3 /usr/local/lib/python3.10/dist-packages/ts/model_service_worker.py --sock-type unix --sock-name /home/model-server/tmp/.ts.sock.9000 --metrics-config /usr/local/lib/python3.10/dist-packages/ts/configs/metrics.yaml
46      7       /usr/bin/python3 /usr/local/lib/python3.10/dist-packages/ts/model_service_worker.py --sock-type unix --sock-name /home/model-server/tmp/.ts.sock.9001 --metrics-config /usr/local/lib/python3.10/dist-packages/ts/configs/metrics.yaml
47      7       /usr/bin/python3 /usr/local/lib/python3.10/dist-packages/ts/model_service_worker.py --sock-type unix --sock-name /home/model-server/tmp/.ts.sock.9002 --metrics-config /usr/local/lib/python3.10/dist-packages/ts/configs/metrics.yaml
""")  # noqa: E501

# gunicorn's gthread and uvicorn worker classes fork their workers like sync.
GTHREAD = table("""
PID     PPID    COMMAND
1       0       python3 /opt/program/serve
6       1       /opt/venv/bin/python3 /opt/venv/bin/gunicorn --bind unix:/tmp/gunicorn.sock --workers 2 --worker-class gthread --threads 16 --timeout 10 app:app
7       6       /opt/venv/bin/python3 /opt/venv/bin/gunicorn --bind unix:/tmp/gunicorn.sock --workers 2 --worker-class gthread --threads 16 --timeout 10 app:app
8       1       nginx: master process nginx -c /tmp/nginx.conf
10      6       /opt/venv/bin/python3 /opt/venv/bin/gunicorn --bind unix:/tmp/gunicorn.sock --workers 2 --worker-class gthread --threads 16 --timeout 10 app:app
11      8       nginx: worker process
""")  # noqa: E501
UVICORN_WORKER_CLASS = table("""
PID     PPID    COMMAND
1       0       /usr/local/bin/python /usr/local/bin/gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 0.0.0.0:8080 main:app
7       1       /usr/local/bin/python /usr/local/bin/gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 0.0.0.0:8080 main:app
8       1       /usr/local/bin/python /usr/local/bin/gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 0.0.0.0:8080 main:app
""")  # noqa: E501


def test_mms_workers_are_the_forked_children_not_the_listener() -> None:
    count = count_workers(MMS)
    assert count.master is not None
    assert "com.amazonaws.ml.mms.ModelServer" in count.master.args
    assert [w.pid for w in count.workers] == [42, 43]
    assert "model_service_worker" in count.rule


def test_mms_listener_before_its_first_connection_is_the_worker() -> None:
    count = count_workers(MMS[:4])
    assert [w.pid for w in count.workers] == [32]


def test_torchserve_one_backend_per_worker() -> None:
    count = count_workers(TORCHSERVE)
    assert count.master == TORCHSERVE[1]
    assert [w.pid for w in count.workers] == [45, 46, 47]


@pytest.mark.parametrize(("recorded", "workers"), [(GTHREAD, [7, 10]), (UVICORN_WORKER_CLASS, [7, 8])])
def test_gunicorn_worker_classes(recorded: list[Process], workers: list[int]) -> None:
    assert [w.pid for w in count_workers(recorded).workers] == workers


@pytest.mark.parametrize(
    "args",
    [
        "/usr/local/bin/python /usr/local/bin/waitress-serve --listen=*:8080 --threads=8 app:app",
        "/usr/local/bin/python /usr/local/bin/uvicorn main:app --host 0.0.0.0 --port 8080",
    ],
)
def test_a_single_process_server_is_its_own_worker(args: str) -> None:
    recorded = [Process(1, 0, "/bin/sh /opt/program/serve"), Process(7, 1, args)]
    count = count_workers(recorded)
    assert count.master == recorded[1]
    assert count.workers == (recorded[1],)
    assert "single-process" in count.rule


def test_parse_proc_dump_leaves_out_the_script_and_its_children() -> None:
    dump = proc_dump(GTHREAD, own_pid=50)
    assert parse_proc_dump(dump) == sorted(GTHREAD, key=lambda p: p.pid)


def test_parse_proc_dump_of_odd_processes() -> None:
    # A comm with spaces and parentheses, a zombie (no cmdline), a process gone between ls and cat.
    dump = (
        "70\0363\0373 (my (odd) name) S 1 3 3 0 -1\nworker\0--flag\0"
        "\0364\0374 (python3) Z 3 4 4 0 -1\n"
        "\0365\037"
        "\03671\03771 (cat) R 70 70 70 0 -1\ncat\0/proc/71/stat\0"
    )
    assert parse_proc_dump(dump) == [Process(3, 1, "worker --flag"), Process(4, 3, "[python3]")]
    assert parse_proc_dump("") == []


def test_the_proc_table_script_succeeds_when_a_process_exits_while_it_reads(tmp_path: Path) -> None:
    """The script globs /proc, then reads each entry: a process that exits in between (a worker killed, another
    docker exec ending) must not fail the whole reading, which would look like an image without sh (CI, under
    load: ENV-3 skipped the decision tree "with no sh"). Run here by a real sh on a stand-in /proc whose last entry
    has gone."""
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "stat").write_text("1 (python3) S 0 1 1\n")
    (tmp_path / "1" / "cmdline").write_bytes(b"python3\0serve\0")
    (tmp_path / "9").mkdir()  # exited: no stat, no cmdline any more
    script = PROC_TABLE_SCRIPT.replace("/proc", str(tmp_path))
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert parse_proc_dump(done.stdout) == [Process(1, 0, "python3 serve")]


def test_recognise_the_inference_toolkit_on_mms() -> None:
    stack = recognise_stack(MMS)
    assert stack is not None
    assert (stack.workers_env, stack.timeout_env) == (
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS",
    )
    assert stack.evidence.startswith("PID 9: java")


def test_recognise_mlflow() -> None:
    recorded = table("""
PID     PPID    COMMAND
1       0       python -c from mlflow.models import container as C;C._init(sys.argv[1], "local") serve
20      1       nginx: master process nginx -c /opt/venv/lib/python3.11/site-packages/mlflow/models/container/scoring_server/nginx.conf
21      1       /bin/bash -c gunicorn --timeout=60 -b 127.0.0.1:8000 -w 2 ${GUNICORN_CMD_ARGS} -- mlflow.pyfunc.scoring_server.wsgi:app
""")  # noqa: E501
    stack = recognise_stack(recorded)
    assert stack is not None
    assert (stack.workers_env, stack.timeout_env) == ("MLFLOW_MODELS_WORKERS", "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT")


def test_nothing_recognised() -> None:
    assert recognise_stack(GUNICORN) is None
    assert recognise_stack(TORCHSERVE) is None


def test_empty_table() -> None:
    assert count_workers([]).count == 0


def test_render_table() -> None:
    assert render_table(GUNICORN_TITLES[:2]).splitlines() == [
        "    PID    PPID  COMMAND",
        "      1       0  gunicorn: master [predictor:app]",
        "      7       1  gunicorn: worker [predictor:app]",
    ]


@pytest.mark.parametrize(
    ("args", "names", "value"),
    [
        ("gunicorn --timeout 60 app:app", ("--timeout",), "60"),
        ("gunicorn --timeout=60 app:app", ("--timeout",), "60"),
        ("gunicorn -t 60 app:app", ("--timeout", "-t"), "60"),
        ("gunicorn --timeout 30 --timeout 90 app:app", ("--timeout",), "90"),
        ("uvicorn app:app --timeout-keep-alive 5", ("--timeout",), None),
        ("gunicorn app:app --timeout", ("--timeout",), None),
        ("gunicorn --log-format '%(h)s \"quoted' --timeout 45", ("--timeout",), "45"),
        ("nginx -c /etc/nginx/custom.conf -g 'daemon off;'", ("-c",), "/etc/nginx/custom.conf"),
    ],
)
def test_option_value(args: str, names: tuple[str, ...], value: str | None) -> None:
    assert option_value(args, *names) == value


def test_server_timeout() -> None:
    master = count_workers(GUNICORN).master
    assert master is not None
    assert server_timeout(master) == 97.0
    assert server_timeout(Process(1, 0, "gunicorn -t 120.5 app")) == 120.5
    assert server_timeout(Process(1, 0, "gunicorn --timeout ${MODEL_SERVER_TIMEOUT} app")) is None
    assert server_timeout(GUNICORN_TITLES[0]) is None


def test_nginx_config_path() -> None:
    assert nginx_config_path(GUNICORN[1]) == "/tmp/nginx.conf"
    assert nginx_config_path(Process(7, 1, "nginx: master process /usr/sbin/nginx")) == "/etc/nginx/nginx.conf"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("60", 60), ("60s", 60), ("1m30s", 90), ("500ms", 0.5), ("2m", 120), ("1h", 3600), ("1d", 86400), ("0", 0)],
)
def test_nginx_time(value: str, seconds: float) -> None:
    assert nginx_time(value) == seconds


AWS_SAMPLE = """
worker_processes 1;
daemon off; # Prevent forking
pid /tmp/nginx.pid;
error_log /var/log/nginx/error.log;

events {
  # defaults
}

http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /var/log/nginx/access.log combined;

  upstream gunicorn {
    server unix:/tmp/gunicorn.sock;
  }

  server {
    listen 8080 deferred;
    client_max_body_size 5m;

    keepalive_timeout 5;
    proxy_read_timeout 1200s;

    location ~ ^/(ping|invocations) {
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Host $http_host;
      proxy_redirect off;
      proxy_pass http://gunicorn;
    }

    location / {
      return 404 "{}";
    }
  }
}
"""


def test_aws_sample_sets_the_timeout_on_the_server() -> None:
    assert nginx_read_timeout(AWS_SAMPLE, "/invocations") == (1200.0, "server block")


def test_location_with_a_regex() -> None:
    config = AWS_SAMPLE.replace("proxy_redirect off;", "proxy_redirect off; proxy_read_timeout 30s;")
    assert nginx_read_timeout(config, "/invocations") == (30.0, "location ~ ^/(ping|invocations)")


def test_http_level() -> None:
    config = AWS_SAMPLE.replace("    proxy_read_timeout 1200s;\n", "").replace(
        "default_type", "proxy_read_timeout 2m; default_type"
    )
    assert nginx_read_timeout(config, "/invocations") == (120.0, "http block")


def test_nginx_default() -> None:
    config = AWS_SAMPLE.replace("    proxy_read_timeout 1200s;\n", "")
    assert nginx_read_timeout(config, "/invocations") == (NGINX_DEFAULT_READ_TIMEOUT_S, "nginx default")
    assert NGINX_DEFAULT_READ_TIMEOUT_S == 60.0


def test_comments_and_quoted_braces_do_not_confuse_the_parser() -> None:
    config = """
http {
  # proxy_read_timeout 5s;  (commented out)
  server {
    location /ping { return 200 "{ok}"; }
    location ~* ^/INVOCATIONS { proxy_pass http://127.0.0.1:9000; proxy_read_timeout 150; }
  }
}
"""
    assert nginx_read_timeout(config, "/invocations") == (150.0, "location ~* ^/INVOCATIONS")


def test_a_location_that_does_not_proxy_does_not_count() -> None:
    config = """
http { server {
  proxy_read_timeout 75s;
  location /invocations { return 503; proxy_read_timeout 1s; }
} }
"""
    assert nginx_read_timeout(config, "/invocations") == (75.0, "server block")


# nginx picks a location by its own rules, not by the order in the file: an exact match first, then the longest
# prefix (final if it is ^~), else the first regex that matches, else that longest prefix.
def test_a_regex_location_beats_an_earlier_prefix_location() -> None:
    config = """
http { server {
  location / { proxy_pass http://app; proxy_read_timeout 30s; }
  location ~ ^/(ping|invocations)$ { proxy_pass http://app; proxy_read_timeout 120s; }
} }
"""
    assert nginx_read_timeout(config, "/invocations") == (120.0, "location ~ ^/(ping|invocations)$")


def test_the_longest_prefix_location_wins() -> None:
    config = """
http { server {
  location / { proxy_pass http://app; proxy_read_timeout 30s; }
  location /invocations { proxy_pass http://app; proxy_read_timeout 120s; }
} }
"""
    assert nginx_read_timeout(config, "/invocations") == (120.0, "location /invocations")


def test_an_exact_location_beats_a_regex() -> None:
    config = """
http { server {
  location ~ ^/inv { proxy_pass http://app; proxy_read_timeout 30s; }
  location = /invocations { proxy_pass http://app; proxy_read_timeout 120s; }
} }
"""
    assert nginx_read_timeout(config, "/invocations") == (120.0, "location = /invocations")


def test_nginx_dash_t_output_with_the_server_in_an_included_file() -> None:
    """``nginx -T`` prints each included file after the main one, not in place: the server block comes after
    the http block that includes it."""
    config = """
# configuration file /etc/nginx/nginx.conf:
events {}
http {
    proxy_read_timeout 45s;
    include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/conf.d/model.conf:
server {
    listen 8080;
    location ~ ^/(ping|invocations) {
        proxy_pass http://unix:/tmp/gunicorn.sock;
        proxy_read_timeout 300s;
    }
}
"""
    assert nginx_read_timeout(config, "/invocations") == (300.0, "location ~ ^/(ping|invocations)")


def test_listening_on_loopback_only() -> None:
    assert listening_sockets(PROC_NET_TCP_LOOPBACK) == ["0.0.0.0:22", "127.0.0.1:8080"]


def test_listening_on_all_addresses() -> None:
    assert listening_sockets(PROC_NET_TCP_ALL) == ["0.0.0.0:8080"]
    assert listening_sockets(PROC_NET_TCP6_ALL) == ["[::]:8080"]
    assert listening_sockets(PROC_NET_TCP_ALL + PROC_NET_TCP6_ALL) == ["0.0.0.0:8080", "[::]:8080"]


def test_established_connections_and_garbage_are_not_listeners() -> None:
    established = "  sl  local_address rem_address   st\n   0: 0100007F:1F90 0100007F:C350 01 0\n"
    assert listening_sockets(established) == []
    assert listening_sockets("") == []
    assert listening_sockets("cat: /proc/net/tcp6: No such file or directory\n") == []
