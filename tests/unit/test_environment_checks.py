"""ENV clauses on scripted fake images: the worker variables and the stacks whose own names for them are recognised
(ENV-1, ENV-2), batch's execution parameters (ENV-4), SAGEMAKER_BIND_TO_PORT (ENV-5). ENV-3, the model server's
timeout, is tests/unit/test_timeout_checks.py. Each broken image breaks one behaviour, and the test asserts the verdict
and the violation text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance import contract
from conformance.context import ServeSpec
from conformance.procs import Process
from conformance.runner import FAIL, PASS, SKIP
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, write_test_dir
from .fakeenv import GUNICORN_60, HARD_CODED, BadExecutionParameters, ClaimsBindToPort, RecordedProcessTable
from .fakeserver import FakeServer, Response
from .faketarget import certify, rendered


def test_env1_wrong_worker_count(tmp_path: Path) -> None:
    outcome, certification = certify(RecordedProcessTable(table=HARD_CODED), "ENV-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-1 [MUST] MODEL_SERVER_WORKERS=N runs N model-server workers")
    assert "MODEL_SERVER_WORKERS=3 did not give 3 model-server workers" in text
    assert f"Actual:   2 (master: {GUNICORN_60}; counted as children of the model server's master)" in text
    assert "Process table:" in text
    assert outcome.measurements == {"workers_observed": 2}
    env = certification.servers["env"].spec.env
    assert env == {"MODEL_SERVER_WORKERS": "3", "MODEL_SERVER_TIMEOUT": "97"}
    assert "Judged worker-count variable: MODEL_SERVER_WORKERS (no policy names them" in outcome.notes[0]


def test_env1_uses_the_variable_the_policy_names(tmp_path: Path) -> None:
    policy = '[env]\nworkers = "SAGEMAKER_MODEL_SERVER_WORKERS"\ntimeout = ""\n'
    test_dir = load_test_dir(write_test_dir(tmp_path / "td", policy=policy))
    outcome, certification = certify(RecordedProcessTable(table=HARD_CODED), "ENV-1", tmp_path, test_dir=test_dir)
    assert "SAGEMAKER_MODEL_SERVER_WORKERS=3 did not give 3 model-server workers" in rendered(outcome)
    assert certification.servers["env"].spec.env == {"SAGEMAKER_MODEL_SERVER_WORKERS": "3"}
    assert outcome.notes == [
        "Judged worker-count variable: SAGEMAKER_MODEL_SERVER_WORKERS (named by the policy ([env] in conformance.toml))"
    ]


def test_env1_skips_when_the_policy_declares_no_variable(tmp_path: Path) -> None:
    test_dir = load_test_dir(write_test_dir(tmp_path / "td", policy='[env]\nworkers = ""\n'))
    outcome, _ = certify(GoodImage(), "ENV-1", tmp_path, test_dir=test_dir)
    assert outcome.verdict == SKIP


def test_env2_one_worker_regardless_of_cpus(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(cpus=1), "ENV-2", tmp_path)  # nproc says 1, the engine has 2 CPUs
    assert outcome.verdict == PASS
    single = (Process(1, 0, "gunicorn: master [app]"), Process(2, 1, "gunicorn: worker [app]"))
    outcome, _ = certify(RecordedProcessTable(table=single), "ENV-2", tmp_path / "single")
    assert outcome.verdict == FAIL
    assert "The default worker count is not the number of CPUs" in rendered(outcome)


def test_env2_a_single_process_server_is_one_worker(tmp_path: Path) -> None:
    table = (Process(1, 0, "/usr/local/bin/python /usr/local/bin/waitress-serve --port=8080 app:app"),)
    outcome, _ = certify(RecordedProcessTable(table=table), "ENV-2", tmp_path)
    assert outcome.verdict == FAIL
    assert "Actual:   1" in rendered(outcome)


# Multi Model Server under AWS's SageMaker Inference Toolkit, as `ps` shows it inside the container: the toolkit's
# entry point, the Java frontend, one Python listener and the two workers it forked, with its command line.
MMS_JAVA = (
    "java -Dmodel_server_home=/opt/venv/lib/python3.11/site-packages -Dlog4j.configurationFile=file:///opt/venv/lib/"
    "python3.11/site-packages/sagemaker_inference/etc/log4j2.xml -XX:-UseContainerSupport -cp .:/opt/venv/lib/"
    "python3.11/site-packages/mms/frontend/* com.amazonaws.ml.mms.ModelServer --python /opt/venv/bin/python3 "
    "-f /etc/sagemaker-mms.properties -s / -m model=/opt/ml/model"
)


MMS_BACKEND = (
    "/opt/venv/bin/python3 /opt/venv/lib/python3.11/site-packages/mms/model_service_worker.py --sock-type unix "
    "--sock-name /tmp/.mms.sock.9000 --handler iris_serving.handler_service --model-path /opt/ml/model "
    "--model-name model --preload-model false --tmp-dir /tmp"
)


def mms_table(workers: int) -> tuple[Process, ...]:
    return (
        Process(1, 0, "python /usr/local/bin/dockerd-entrypoint.py serve"),
        Process(8, 1, "[multi-model-ser] <defunct>"),
        Process(9, 1, MMS_JAVA),
        Process(32, 9, MMS_BACKEND),
        *(Process(42 + n, 32, MMS_BACKEND) for n in range(workers)),
    )


@dataclass
class InferenceToolkitOnMms(GoodImage):
    """The toolkit's variables, read as MMS reads them: the frontend answers 500 when a worker does not reply
    within default_response_timeout_seconds and keeps the frozen worker."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        workers = int(spec.env.get("SAGEMAKER_MODEL_SERVER_WORKERS", self.cpus))
        return FakeServer(self, spec, processes=mms_table(workers))

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        seconds = float(server.spec.env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS", 120 * 60))
        return Response(500, b'{"code": 500, "message": "Worker died."}', "application/json", elapsed=seconds + 0.05)


def test_env_recognises_the_inference_toolkit_on_mms(tmp_path: Path) -> None:
    outcome, certification = certify(InferenceToolkitOnMms(), "ENV-1", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome)
    assert outcome.measurements == {"workers_observed": 3}
    assert certification.servers["env"].spec.env == {
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "97",
    }
    assert "recognised the SageMaker Inference Toolkit on Multi Model Server" in outcome.notes[0]
    outcome, certification = certify(InferenceToolkitOnMms(), "ENV-3", tmp_path / "env3")
    assert outcome.verdict == PASS, rendered(outcome)
    assert outcome.measurements["frozen_request_seconds"] == 10.05
    assert certification.servers["env-timeout"].spec.env == {"SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "10"}
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


def test_env_an_explicit_policy_wins_over_a_recognised_stack(tmp_path: Path) -> None:
    test_dir = load_test_dir(write_test_dir(tmp_path / "td", policy='[env]\nworkers = "MY_WORKERS"\n'))
    outcome, certification = certify(InferenceToolkitOnMms(), "ENV-1", tmp_path, test_dir=test_dir)
    assert outcome.verdict == FAIL  # the image never reads MY_WORKERS
    assert certification.servers["env"].spec.env == {
        "MY_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "97",
    }
    assert "'MY_WORKERS' named by the policy" in outcome.notes[0]


def test_env_recognises_mlflow(tmp_path: Path) -> None:
    entry = "python -c import sys; from mlflow.models import container as C; C._init(sys.argv[1], 'local') serve"
    uvicorn = "/opt/venv/bin/python /opt/venv/bin/uvicorn --port 8000 --workers 2 mlflow.pyfunc.scoring_server.app:app"
    mlflow = (Process(1, 0, entry), Process(20, 1, uvicorn))
    outcome, certification = certify(RecordedProcessTable(table=mlflow), "ENV-1", tmp_path)
    assert certification.servers["env"].spec.env == {
        "MLFLOW_MODELS_WORKERS": "3",
        "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "97",
    }
    assert "recognised MLflow's scoring container" in outcome.notes[0]


def test_env4_invalid_execution_parameters(tmp_path: Path) -> None:
    outcome, _ = certify(BadExecutionParameters(), "ENV-4", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "GET /execution-parameters answered, but not with a valid document" in text
    assert "MaxConcurrentTransforms = 0 (a positive integer)" in text
    assert "BatchStrategy = 'ALL'" in text
    assert "MaxPayloadInMB = 200 (an integer from 0 to 100)" in text


def test_env4_valid_execution_parameters_pass(tmp_path: Path) -> None:
    document = b'{"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}'
    outcome, certification = certify(BadExecutionParameters(document=document), "ENV-4", tmp_path)
    assert outcome.verdict == PASS
    assert certification.servers["batch"].spec.env == contract.BATCH_ENV


def test_env5_claimed_but_not_honoured(tmp_path: Path) -> None:
    outcome, _ = certify(ClaimsBindToPort(honours=False), "ENV-5", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-5 [CONDITIONAL]")
    assert "SAGEMAKER_BIND_TO_PORT=9090 did not move the listener, though the image claims it does" in text


def test_env5_claimed_and_honoured(tmp_path: Path) -> None:
    outcome, certification = certify(ClaimsBindToPort(), "ENV-5", tmp_path)
    assert outcome.verdict == PASS
    spec = certification.servers["bind-to-port"].spec
    assert spec.port == 9090
    assert spec.env[contract.BIND_TO_PORT_ENV] == "9090"
