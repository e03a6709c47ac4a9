"""Drive one image through the SageMaker Python SDK's local mode; run by tests/sdk/test_local_mode.py.

Runs in the SDK's own virtual environment (scripts/ensure-sdk.sh), not the project's: the SDK's
dependencies stay out of the package's. It trains, deploys, predicts, and batch-transforms the
payload with each strategy, all through `file://` URIs, and writes WORK_DIR/result.json with what came
back, for the test to judge against the harness's own round trip. It asserts nothing itself.

    python local_mode_driver.py IMAGE TEST_DIR WORK_DIR --port PORT --labels JSON [--content-type T] [--payload F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Telemetry off through the SDK's own switch (SageMaker.PythonSDK.Modules.TelemetryOptOut).
SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
# Local mode never assumes it; an ARN keeps the SDK from asking IAM to expand a bare role name.
ROLE = "arn:aws:iam::111111111111:role/sagemaker-conformance-local"
STRATEGIES = ("MultiRecord", "SingleRecord")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("image")
    parser.add_argument("test_dir", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--labels", default="{}")
    parser.add_argument("--content-type", default="text/csv")
    parser.add_argument("--payload", default="payload.csv")
    args = parser.parse_args(argv)

    import sagemaker
    from sagemaker.deserializers import BytesDeserializer
    from sagemaker.estimator import Estimator
    from sagemaker.local import LocalSession
    from sagemaker.serializers import IdentitySerializer

    work: Path = args.work.resolve()
    test_dir: Path = args.test_dir.resolve()
    payload_dir = work / "payload"
    payload_dir.mkdir(parents=True)
    (work / "sdk-root").mkdir()
    payload = (test_dir / args.payload).read_bytes()
    (payload_dir / "payload.csv").write_bytes(payload)
    hyperparameters = json.loads((test_dir / "input/config/hyperparameters.json").read_text())

    session = LocalSession(sagemaker_config=SDK_CONFIG)
    session.config = {
        "local": {
            "local_code": True,
            # A free port the test chose: 8080, local mode's default, may be taken on a shared engine.
            "serving_port": args.port,
            # Every compose file, model and scratch folder under the test's own directory.
            "container_root": str(work / "sdk-root"),
            # The harness's labels on every container compose starts, so that the test removes them.
            "container_config": {"labels": json.loads(args.labels)},
        }
    }
    local_client = session.sagemaker_client
    result: dict[str, Any] = {"sdk_version": sagemaker.__version__, "seconds": {}}

    def timed(step: str, started: float) -> None:
        result["seconds"][step] = round(time.monotonic() - started, 2)

    started = time.monotonic()
    estimator = Estimator(
        image_uri=args.image,
        role=ROLE,
        instance_count=1,
        instance_type="local",
        output_path=(work / "output").as_uri(),
        hyperparameters=hyperparameters,
        sagemaker_session=session,
    )
    estimator.fit({"training": (test_dir / "input/data/training").as_uri()})
    result["model_data"] = estimator.model_data
    timed("train", started)

    started = time.monotonic()
    # wait=False: local mode's create_endpoint already returns only once /ping answers 200, and the SDK's
    # wait_for_endpoint sleeps its 30 s poll interval before it first looks (Session._wait_until). The
    # endpoint's status is read back instead, so a deploy that did not come up still fails here.
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="local",
        serializer=IdentitySerializer(content_type=args.content_type),
        deserializer=BytesDeserializer(accept="text/csv"),
        wait=False,
    )
    try:
        endpoint = local_client.describe_endpoint(EndpointName=predictor.endpoint_name)
        result["endpoint_status"] = endpoint["EndpointStatus"]
        result["prediction"] = predictor.predict(payload).decode("utf-8")
    finally:
        predictor.delete_endpoint()
    timed("deploy_predict", started)

    result["transform"] = {}
    for strategy in STRATEGIES:
        started = time.monotonic()
        output = work / f"transform-{strategy}"
        transformer = estimator.transformer(
            instance_count=1,
            instance_type="local",
            strategy=strategy,
            assemble_with="Line",
            accept="text/csv",
            output_path=output.as_uri(),
        )
        # The strategy is always named: left out, local mode takes BatchStrategy from the image's
        # /execution-parameters as is, and that document spells it as the container's environment does
        # (MULTI_RECORD), which local mode's own batch code then rejects ("Invalid Batch Strategy").
        # wait=False: local mode runs the whole job inside create_transform_job, and the SDK's wait()
        # reads the job's logs from CloudWatch Logs (LocalSession does not override logs_for_transform_job;
        # aws/sagemaker-python-sdk#3997 shows it asking CloudWatch for a local job's logs): offline, with
        # botocore's retries, wait() failed after 78 s with EndpointConnectionError for
        # logs.us-west-2.amazonaws.com. The job's status is read back from the local client instead.
        transformer.transform(payload_dir.as_uri(), content_type=args.content_type, split_type="Line", wait=False)
        job = local_client.describe_transform_job(TransformJobName=transformer.latest_transform_job.job_name)
        result["transform"][strategy] = {
            "status": job["TransformJobStatus"],
            "batch_strategy": job["BatchStrategy"],
            "output": (output / "payload.csv.out").read_text(),
        }
        timed(f"transform_{strategy}", started)

    # The SDK prints to stdout itself (its config notes, rich tracebacks): the result goes to a file.
    (work / "result.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit, not sys.exit: when a transform job fails, local mode leaves its compose thread (not a daemon)
    # and the serving container running, and a normal exit would wait for that thread for ever. The test
    # ends the compose processes (this process group) and removes the containers (by label).
    os._exit(status)
