"""Every constant of the SageMaker bring-your-own-container contract, each with its source.

Checks and container classes import names from here and never spell a path, port, header or
limit themselves. Each constant's docstring names its source: one of the AWS pages below, by the name of
its URL constant (``DG_INF``, ``DG_TRAIN_IMG``, ...). docs/clauses.md says, clause by clause, why each rule
matters and how the harness tests it.
"""

from __future__ import annotations

from typing import Final

# --- Sources -------------------------------------------------------------------------------------
DG_TRAIN_IMG: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-dockerfile.html"
DG_TRAIN_INFO: Final = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html"
)
DG_TRAIN_OUT: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html"
DG_TRAIN_DIST: Final = f"{DG_TRAIN_INFO}#your-algorithms-training-algo-running-container-dist-training"
"""DG_TRAIN_INFO's "Distributed training configuration": resourceconfig.json, and which host the container is."""
DG_INF: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html"
DG_BATCH: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html"
API_CREATE_TRAINING: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html"
DG_NETISO: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html"
DG_PIPE: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/inference-pipeline-real-time.html"
API_RT: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html"
API_STOP: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html"
DG_CKPT: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html"
DG_CDF: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/cdf-inference.html"
DG_BT: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html"
DG_METRICS: Final = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-define-metrics-variables.html"
)
"""Defining metrics: ``MetricDefinitions`` regexes searched in the training job's logs, as CloudWatch holds them."""
API_METRIC: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MetricDefinition.html"
SMDEBUG_API: Final = "https://github.com/awslabs/sagemaker-debugger/blob/master/docs/api.md"
"""SageMaker Debugger's hook reads ``/opt/ml/input/config/debughookconfig.json``, "the default path that SageMaker
writes the hook configuration to"."""
SDK_LOCAL_IMAGE: Final = "https://github.com/aws/sagemaker-python-sdk/blob/master/src/sagemaker/local/image.py"
"""The SDK's local mode: ``retrieve_artifacts`` copies every host's /opt/ml/model into one model, overriding duplicate
file names "as the official SageMaker Training Service" does."""
SAMPLE_SKLEARN: Final = (
    "https://github.com/aws/amazon-sagemaker-examples/tree/12085f3be/advanced_functionality/scikit_bring_your_own"
)
"""AWS's scikit-learn bring-your-own sample, the template most custom images start from."""

# --- Invocation (DG_TRAIN_IMG, DG_INF) -----------------------------------------------------------
TRAIN_ARG: Final = "train"
"""SageMaker runs ``docker run IMAGE train`` (DG_TRAIN_IMG)."""
SERVE_ARG: Final = "serve"
"""SageMaker runs ``docker run IMAGE serve`` (DG_INF)."""
FORBIDDEN_INIT_ENTRYPOINTS: Final = frozenset({"tini", "tini-static", "docker-init"})
""""You can't use the tini initializer as your entry point" (DG_TRAIN_IMG, DG_INF)."""
DEFAULT_PLATFORM: Final = "linux/amd64"
"""SageMaker's CPU and GPU instances run linux/amd64 images unless the instance is Graviton; an image built on an
Apple-silicon laptop is linux/arm64 and fails there with "exec format error"."""

# --- The /opt/ml tree (DG_TRAIN_INFO, DG_TRAIN_OUT, DG_INF) --------------------------------------
OPT_ML: Final = "/opt/ml"
"""Reserved by SageMaker: "/opt/ml and all subdirectories are reserved" (DG_TRAIN_IMG)."""
INPUT_DIR: Final = f"{OPT_ML}/input"
INPUT_CONFIG_DIR: Final = f"{INPUT_DIR}/config"
INPUT_DATA_DIR: Final = f"{INPUT_DIR}/data"
HYPERPARAMETERS_FILE: Final = "hyperparameters.json"
"""``input/config/hyperparameters.json``: a string-to-string map (DG_TRAIN_INFO)."""
INPUT_DATA_CONFIG_FILE: Final = "inputdataconfig.json"
"""``input/config/inputdataconfig.json``: one object per channel (DG_TRAIN_INFO)."""
RESOURCE_CONFIG_FILE: Final = "resourceconfig.json"
"""``input/config/resourceconfig.json``: the cluster topology, all lower case (DG_TRAIN_INFO)."""
MODEL_DIR: Final = f"{OPT_ML}/model"
"""Training writes the model here; hosting extracts ``model.tar.gz`` here (DG_TRAIN_OUT, DG_INF)."""
OUTPUT_DIR: Final = f"{OPT_ML}/output"
OUTPUT_DATA_DIR: Final = f"{OUTPUT_DIR}/data"
FAILURE_FILE: Final = f"{OUTPUT_DIR}/failure"
"""Written on failure; its first 1024 characters become ``FailureReason`` (DG_TRAIN_OUT)."""
CHECKPOINT_CONFIG_FILE: Final = "checkpointconfig.json"
"""``input/config/checkpointconfig.json``: ``CheckpointConfig`` (LocalPath, S3Uri) of a job that sets it
(API_CREATE_TRAINING, DG_CKPT)."""
TRAINING_JOB_CONFIG_FILE: Final = "trainingjobconfig.json"
"""``input/config/trainingjobconfig.json``: the job's CreateTrainingJob request, written by the service."""
DEBUG_HOOK_CONFIG_FILE: Final = "debughookconfig.json"
"""``input/config/debughookconfig.json``: ``DebugHookConfig`` of a job that sets it (API_CREATE_TRAINING,
SMDEBUG_API)."""
CHECKPOINTS_DIR: Final = f"{OPT_ML}/checkpoints"
"""Default ``checkpoint_local_path`` (DG_CKPT)."""
CODE_DIR: Final = f"{OPT_ML}/code"
"""Where AWS's training toolkit keeps user code; SageMaker leaves it as the image has it."""
REPLACED_AT_RUN_TIME: Final = (INPUT_DIR, MODEL_DIR, OUTPUT_DIR, CHECKPOINTS_DIR)
"""Directories SageMaker mounts fresh at run time, hiding what the image baked there (DG_TRAIN_IMG, DG_TRAIN_OUT)."""
DEFAULT_CHANNEL: Final = "training"
"""A plain S3 prefix given to ``Estimator.fit`` becomes the ``training`` channel (SAMPLE_SKLEARN)."""
FAILURE_REASON_LIMIT: Final = 1024
"""Characters of the failure file that ``DescribeTrainingJob`` shows as ``FailureReason`` (DG_TRAIN_OUT)."""
CURRENT_HOST: Final = "algo-1"
"""``current_host`` of a single-instance job, as SageMaker and its local mode name it (DG_TRAIN_INFO)."""
HOSTS: Final = (CURRENT_HOST,)
"""``hosts`` of a single-instance job: every name in it resolves through DNS in the training container."""
MULTI_HOST_NAMES: Final = ("algo-1", "algo-2")
"""``hosts`` of a two-instance job: SageMaker names instances ``algo-1``, ``algo-2``, ... (DG_TRAIN_DIST)."""
HOSTNAME_UNRELIABLE: Final = "Don't use the information in /etc/hostname or /etc/hosts because it might be inaccurate"
"""DG_TRAIN_DIST (distributed training configuration): the container's hostname is not ``current_host``; a
container finds its own host in ``resourceconfig.json``, and the other hosts by resolving their names."""
TRAINING_JOB_NAME_ENV: Final = "TRAINING_JOB_NAME"
TRAINING_JOB_ARN_ENV: Final = "TRAINING_JOB_ARN"
"""The platform sets these two in every training container (DG_TRAIN_INFO)."""
TRAINING_JOB_NAME: Final = "sagemaker-conformance"
TRAINING_JOB_ARN: Final = "arn:aws:sagemaker:us-east-1:000000000000:training-job/sagemaker-conformance"
TUNING_HYPERPARAMETERS: Final = {
    "_tuning_objective_metric": "validation:rmse",
    "sagemaker_job_name": '"sagemaker-conformance"',
    "sagemaker_region": '"us-east-1"',
}
"""Keys real jobs add: tuning's objective metric, framework estimators' ``sagemaker_*`` (DG_TRAIN_INFO)."""
AWS_CREDENTIAL_ENV: Final = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
"""The variables the AWS SDKs read static credentials from (AWS_SECURITY_TOKEN is boto's older name for the session
token). A job's and an endpoint's AWS access comes from its execution role, "an IAM role that SageMaker can assume to
perform tasks on your behalf" (API_CREATE_TRAINING ``RoleArn``), not from the image; a baked key ships with every push
of the image and outranks the role in the SDKs' credential chain."""
AWS_REGION_ENV: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")
"""Region variables: configuration, not credentials; a baked region grants nothing and leaks nothing."""
LOG_TAB: Final = "#011"
"""How a training job's log in CloudWatch shows a tab: as its octal escape, so a metric regex sees ``#011``, never
``\\t``: users' ``MetricDefinitions`` for AWS's XGBoost container match ``#011train-rmse:`` for that reason (DG_METRICS
says only that the regex searches the logs)."""
TRAIN_STOP_GRACE_S: Final = 120
"""``StopTrainingJob`` is "the equivalent of docker stop -t 120" (DG_TRAIN_IMG, API_STOP)."""

# --- Hosting (DG_INF) ----------------------------------------------------------------------------
PORT: Final = 8080
""""Containers need to implement a web server that responds to /invocations and /ping on port 8080" (DG_INF)."""
PING_PATH: Final = "/ping"
INVOCATIONS_PATH: Final = "/invocations"
EXECUTION_PARAMETERS_PATH: Final = "/execution-parameters"
"""Optional; batch transform asks it before the first invocation (DG_BATCH)."""
PING_TIMEOUT_S: Final = 2.0
""""The request timeout on /ping attempts is 2 seconds" (DG_INF)."""
STARTUP_BUDGET_S: Final = 60.0
"""The harness's default start-up budget; SageMaker's own window is 4 minutes (DG_INF), configurable 60-3600 s."""
STARTUP_LIMIT_S: Final = 240.0
""""during the 4 minutes after startup, new instance launch will fail" (DG_INF)."""
INVOCATION_LIMIT_S: Final = 60.0
""""A customer's model containers must respond to requests within 60 seconds" (DG_INF)."""
SERVE_STOP_GRACE_S: Final = 30
""""sends the SIGTERM signal, then it sends the SIGKILL signal thirty seconds later" (DG_INF)."""
MAX_REQUEST_BYTES: Final = 6_291_456
"""``InvokeEndpoint`` Body maximum, 6 MiB (API_RT ``BodyBlob``)."""
LARGE_PAYLOAD_BYTES: Final = 6_000_000
"""The "about 6 MB" valid payload SRV-9 sends; below ``MAX_REQUEST_BYTES`` (API_RT)."""
CUSTOM_ATTRIBUTES_MAX: Final = 1024
"""``X-Amzn-SageMaker-Custom-Attributes``: at most 1024 visible US-ASCII characters (API_RT)."""
SAGEMAKER_HEADERS: Final = {
    "X-Amzn-SageMaker-Target-Variant": "AllTraffic",
    "X-Amzn-SageMaker-Inference-Id": "sagemaker-conformance-0001",
    "X-Amzn-SageMaker-Enable-Explanations": "`false`",
    "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    "X-Forwarded-For": "203.0.113.7",
    "X-Amzn-SageMaker-Custom-Attributes": ("c" * (CUSTOM_ATTRIBUTES_MAX - 2)) + "=1",
}
"""Headers SageMaker may add, which "inference containers must be able to safely ignore" (DG_INF, API_RT)."""
CSV: Final = "text/csv"
"""SageMaker's CSV convention: no header record (DG_CDF)."""
UNSUPPORTED_CONTENT_TYPES: Final = ("application/x-sagemaker-conformance-unsupported", "image/png")
"""Media types no CSV model accepts; the preferred answer is 415 Unsupported Media Type (DG_INF: a
container's 4xx reaches the caller as a client error)."""

# --- Server environment (AWS's bring-your-own samples, DG_BATCH, DG_PIPE) --------------------------
MODEL_SERVER_WORKERS_ENV: Final = "MODEL_SERVER_WORKERS"
"""Worker count in AWS's bring-your-own samples (default: CPU count)."""
MODEL_SERVER_TIMEOUT_ENV: Final = "MODEL_SERVER_TIMEOUT"
"""Request timeout in AWS's bring-your-own samples (default 60 s)."""
DEFAULT_MODEL_SERVER_TIMEOUT_S: Final = 60
ENV_WORKERS_PROBE: Final = 3
"""The worker count ENV-1 asks for: neither 1 nor a likely CPU count, so a default cannot pass for it."""
ENV_TIMEOUT_PROBE_S: Final = 97
"""The timeout ENV-3 renders configuration with: no server's default, so an ignored variable shows."""
ENV_TIMEOUT_BEHAVIOUR_PROBE_S: Final = 10
"""The timeout ENV-3 freezes the workers under: short, yet no server's built-in limit falls near it (uvicorn
replaces a worker that misses its 5 s health check, gunicorn's default is 30 s, TorchServe's 120 s, MMS's
120 minutes)."""
TOOLKIT_WORKERS_ENV: Final = "SAGEMAKER_MODEL_SERVER_WORKERS"
TOOLKIT_TIMEOUT_ENV: Final = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
TOOLKIT_TIMEOUT_SECONDS_ENV: Final = "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS"
"""AWS's SageMaker Inference Toolkit (``sagemaker_inference/parameters.py``): workers per model and the
response timeout, rendered into MMS's ``default_workers_per_model``, ``default_response_timeout`` (read by
MMS as minutes) and ``default_response_timeout_seconds`` (``model_server.py``)."""
MLFLOW_WORKERS_ENV: Final = "MLFLOW_MODELS_WORKERS"
MLFLOW_TIMEOUT_ENV: Final = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"
"""MLflow's SageMaker container (``mlflow/models/container/__init__.py``): scoring-server workers (default:
the CPU count) and its request timeout (``mlflow/environment_variables.py``, default 60 s)."""
BATCH_ENV: Final = {
    "SAGEMAKER_BATCH": "true",
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": "6",
    "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
    "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "2",
}
"""Batch transform's variables (DG_BATCH); each may be absent, all must be tolerated."""
BATCH_STRATEGIES: Final = frozenset({"MULTI_RECORD", "SINGLE_RECORD"})
MAX_PAYLOAD_IN_MB_LIMIT: Final = 100
"""``MaxPayloadInMB`` at most 100, and ``MaxConcurrentTransforms x MaxPayloadInMB <= 100`` (DG_BT)."""
BIND_TO_PORT_ENV: Final = "SAGEMAKER_BIND_TO_PORT"
SAFE_PORT_RANGE_ENV: Final = "SAGEMAKER_SAFE_PORT_RANGE"
BIND_TO_PORT_LABEL: Final = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
"""Images that honour ``SAGEMAKER_BIND_TO_PORT`` must carry this label set to ``true`` (DG_PIPE)."""

# --- Deployment profiles: inference pipelines and multi-container endpoints (DG_PIPE) ------------
PIPELINE_PORTS: Final = (9090, 9190)
"""The SAGEMAKER_BIND_TO_PORT of each of two copies side by side in one network namespace (ENV-6)."""
PIPELINE_SAFE_PORT_RANGES: Final = ("9091-9099", "9191-9199")
"""Each copy's SAGEMAKER_SAFE_PORT_RANGE: "If your container needs to listen on a second port, choose a port in the
range specified by the SAGEMAKER_SAFE_PORT_RANGE environment variable" (DG_PIPE), an inclusive "XXXX-YYYY"."""
DOCKER_EMBEDDED_DNS: Final = "127.0.0.11"
"""Docker's embedded DNS resolver, which the engine (not the image) opens in a container on a user-defined network."""

# --- Bidirectional streaming (DG_INF_BIDI, RFC_6455) ---------------------------------------------
DG_INF_BIDI: Final = f"{DG_INF}#your-algorithms-inference-algo-bidi"
"""DG_INF's "Container Contract to Support Bidirectional Streaming Capabilities" (InvokeEndpointWithBidirectionalStream,
announced November 2025)."""
SAMPLE_BIDI: Final = (
    "https://github.com/aws-samples/sagemaker-genai-hosting-examples/tree/main/03-features/bidirectional-streaming-byoc"
)
"""AWS's bring-your-own bidirectional-streaming sample; its README's "Container Contract": a WebSocket on port 8080 at
/invocations-bidirectional-stream, pong for every ping frame (RFC 6455), connections accepted within 250 ms."""
RFC_6455_CONTROL: Final = "https://www.rfc-editor.org/rfc/rfc6455#section-5.5"
"""WebSocket control frames: a Ping "MUST" get a Pong with "identical Application data" (5.5.2, 5.5.3)."""
BIDI_LABEL: Final = "com.amazonaws.sagemaker.capabilities.bidirectional-streaming"
"""Images that serve InvokeEndpointWithBidirectionalStream carry this label set to ``true`` (DG_INF_BIDI)."""
BIDI_PATH: Final = "/invocations-bidirectional-stream"
"""The WebSocket the service opens on the container's port 8080 for each stream (DG_INF_BIDI)."""
BIDI_ACCEPT_S: Final = 0.25
""""Containers must accept socket connection requests within 250 ms" (SAMPLE_BIDI)."""
BIDI_PING_INTERVAL_S: Final = 60
"""The service sends a WebSocket ping frame every 60 s and closes the stream after 5 unanswered (DG_INF_BIDI)."""
BIDI_MISSED_PINGS: Final = 5

# --- Deployment profiles: multi-model endpoints (DG_MME, DG_MME_BUILD) ----------------------------
DG_MME: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/mms-container-apis.html"
DG_MME_BUILD: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/build-multi-model-build-container.html"
MULTI_MODEL_LABEL: Final = "com.amazonaws.sagemaker.capabilities.multi-models"
"""Images that implement the /models API carry this label set to ``true`` (DG_MME_BUILD)."""
MULTI_MODEL_ENV: Final = "SAGEMAKER_MULTI_MODEL"
"""SageMaker "injects" ``SAGEMAKER_MULTI_MODEL=true`` into a multi-model endpoint's container (DG_MME_BUILD); no single
model is at MODEL_DIR then."""
MODELS_DIR: Final = f"{OPT_ML}/models"
"""Where a multi-model endpoint puts each model's extracted artifacts: ``/opt/ml/models/{id}/model`` (DG_MME)."""
MODELS_PATH: Final = "/models"
"""Load (POST), list (GET); ``/models/{model_name}``: get (GET), unload (DELETE); ``.../invoke``: invoke (DG_MME)."""
TARGET_MODEL_HEADER: Final = "X-Amzn-SageMaker-Target-Model"
"""The caller's TargetModel, passed to the /models API for logging; the container keys models by model_name."""
MULTI_MODEL_PROBES: Final = (("smc-model-a", "3f2a9c1e"), ("smc-model-b", "b7d04e55"))
"""(model_name, folder under MODELS_DIR) of the two models ENV-7 loads: names and folders differ, as on SageMaker,
where model_name is opaque and the folder is the service's own."""

# --- Deployment profiles: serverless inference (DG_SERVERLESS, API_SERVERLESS) ------------------------
DG_SERVERLESS: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html"
API_SERVERLESS: Final = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html"
)
SERVERLESS_MEMORY_SIZES_MB: Final = (1024, 2048, 3072, 4096, 5120, 6144)
"""``MemorySizeInMB``: "Valid values are in 1 GB increments" from 1024 to 6144 MB (API_SERVERLESS); the SDK's default
is 2048."""
SERVERLESS_CPUS: Final = 1.0
"""The harness's CPU share for a serverless container: AWS sizes compute with the memory but publishes no vCPU count,
so the smallest plausible share is used."""
SERVERLESS_MAX_PAYLOAD_BYTES: Final = 4 * 1024 * 1024
""""The maximum request and response payload size for serverless invocations is 4 MB" (DG_SERVERLESS)."""
SERVERLESS_PAYLOAD_BYTES: Final = 4_000_000
"""The body ENV-8 sends: as large as serverless allows, just under SERVERLESS_MAX_PAYLOAD_BYTES."""
CGROUP_MEMORY_EVENTS: Final = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
"""Where the kernel counts the container's out-of-memory kills (``oom_kill N``): cgroup v2, then v1."""
DG_SERVERLESS_TROUBLESHOOT: Final = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-troubleshooting.html"
)
"""Serverless "Container issues": a container that worked on an instance-based endpoint "may not have permissions to
write files" on a serverless one, failing its ping health check; AWS's fix is ``RUN chmod o+rwX`` on what it writes,
i.e. the container does not run as the owner (root) of the image's files there."""
SERVERLESS_USER: Final = "65534:65534"
"""``docker run --user`` for ENV-9: ``nobody:nogroup``, a uid and gid that own none of the image's files. AWS does not
publish the uid a serverless container runs as (DG_SERVERLESS_TROUBLESHOOT says only that it lacks the permissions
root has); a uid that owns nothing is the case the image cannot prepare for except by writing where anyone may."""
SERVERLESS_WRITABLE_DIR: Final = "/tmp"
"""The one writable place ENV-9 gives the container (a fresh tmpfs, on a read-only root file system): the directory
every Unix program may write to, and the only writable one for a container image on AWS Lambda, which serverless
inference is integrated with (the harness's robustness rule, by that analogy: AWS documents 5 GB of ephemeral storage
for a serverless endpoint, not where it is mounted, nor a read-only root file system)."""
SERVERLESS_TMPFS_OPTIONS: Final = "rw,exec,nosuid,nodev,mode=1777"
"""Mount options of that tmpfs: writable by every uid (sticky, as /tmp is), and executable, as a disk /tmp is."""
PASSWD_FILE: Final = "/etc/passwd"
"""Where ``docker run`` resolves a named ``USER`` to its uid. "SageMaker AI expects all containers to run with root
users" (DG_INF, "How SageMaker AI Runs Your Inference Image"): uid 0, whatever the group."""
# --- Batch transform, content negotiation and response limits (DG_BATCH, DG_BT, API_TRANSFORM, API_RT) ------------
API_TRANSFORM: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html"
API_TRANSFORM_INPUT: Final = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformInput.html"
BATCH_ENV_VARIABLE: Final = "SAGEMAKER_BATCH"
MAX_PAYLOAD_ENV: Final = "SAGEMAKER_MAX_PAYLOAD_IN_MB"
BATCH_STRATEGY_ENV: Final = "SAGEMAKER_BATCH_STRATEGY"
MAX_CONCURRENT_TRANSFORMS_ENV: Final = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"
"""The variables batch transform sets in the serving container (DG_BATCH), from the job's settings."""
MULTI_RECORD: Final = "MULTI_RECORD"
"""``BatchStrategy=MultiRecord``: "the maximum number of records in each request, up to the MaxPayloadInMB limit"
(API_TRANSFORM_INPUT)."""
SINGLE_RECORD: Final = "SINGLE_RECORD"
"""``BatchStrategy=SingleRecord``: "individual records in each request" (API_TRANSFORM_INPUT)."""
DEFAULT_MAX_PAYLOAD_IN_MB: Final = 6
"""``MaxPayloadInMB`` when neither the job nor /execution-parameters sets it: "The default value is 6 MB"
(API_TRANSFORM)."""
MEGABYTE: Final = 1024 * 1024
"""Bytes in one of MaxPayloadInMB's MB: 6 MB is InvokeEndpoint's 6,291,456-byte body (API_RT)."""
DEFAULT_MAX_CONCURRENT_TRANSFORMS: Final = 1
"""``MaxConcurrentTransforms``: "The default value is 1" (API_TRANSFORM)."""
SPLIT_LINE_SEPARATOR: Final = b"\n"
"""``SplitType=Line`` splits "on a newline character boundary"; ``AssembleWith=Line`` joins the answers with one
(API_TRANSFORM_INPUT, DG_BT)."""
MAX_RESPONSE_BYTES: Final = 6_291_456
"""``InvokeEndpoint``'s response Body maximum, 6 MiB, as for the request (API_RT ``Body``)."""
ANY_MEDIA_TYPE: Final = "*/*"
UNPRODUCIBLE_ACCEPT: Final = "application/x-sagemaker-conformance-unknown"
"""An Accept no image can produce: HTTP's answer is 406 Not Acceptable, or the response as if there were no Accept
(RFC 9110, section 15.5.7); InvokeEndpoint passes the caller's Accept to the container (API_RT)."""

# --- Generative serving: documents, streaming, persistent connections, asynchronous endpoints ------------------------
RFC_PERSISTENCE: Final = "https://www.rfc-editor.org/rfc/rfc9112#section-9.6"
"""RFC 9112, section 9.6 "Tear-down": a server that closes a connection after a response sends ``Connection: close``
in it; HTTP/1.1 connections are persistent unless one side says otherwise (section 9.3)."""
API_STREAM: Final = (
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpointWithResponseStream.html"
)
"""``InvokeEndpointWithResponseStream``: "the container for that model must support inference streaming"; the answer
reaches the caller "incrementally as a series of parts"."""
DG_ASYNC: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html"
"""Asynchronous inference: "large payload sizes (up to 1GB), long processing times (up to one hour)"."""
DG_ASYNC_INVOKE: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-invoke-endpoint.html"
"""``InvocationTimeoutSeconds``: "a maximum of 3600 seconds (one hour)", "by default the request times out at 15
minutes"."""
JSON: Final = "application/json"
"""The media type of one JSON document: a generative model's request and its non-streamed answer."""
EVENT_STREAM: Final = "text/event-stream"
"""Server-Sent Events (WHATWG HTML, "Server-sent events"): ``data:`` lines, an event ending at a blank line."""
JSON_LINES: Final = "application/jsonlines"
"""One JSON document per line: the other frame type streaming containers use (DJL's LMI default)."""
STREAM_FIRST_EVENT_SHARE: Final = 0.5
"""A streamed answer's first event arrives before this share of the time to its last: a proxy that buffers the
whole answer (nginx's proxy_buffering on) delivers every event at once, at the end."""
STREAM_MIN_SPAN_S: Final = 0.2
"""Below this time from first to last byte, an answer is too short to tell streaming from buffering."""
KEEP_ALIVE_REQUESTS: Final = 3
"""Requests SRV-20 sends back to back on one HTTP/1.1 connection, per path."""
KEEP_ALIVE_LINGER_S: Final = 0.3
"""How long SRV-20 watches a kept-alive connection after an answer for a close the answer did not announce."""
ASYNC_DEFAULT_INVOCATION_TIMEOUT_S: Final = 900
"""``InvocationTimeoutSeconds`` when the request sets none: 15 minutes (DG_ASYNC_INVOKE)."""
ASYNC_MAX_INVOCATION_TIMEOUT_S: Final = 3600
"""``InvocationTimeoutSeconds`` at most one hour (DG_ASYNC_INVOKE)."""
ASYNC_MAX_REQUEST_MB: Final = 1024
"""An asynchronous request's payload is read from S3, up to 1 GB (DG_ASYNC)."""
ASYNC_MAX_HEADER_BYTES: Final = 4096
"""Response headers an asynchronous endpoint passes on, at most 4096 bytes (users' reports: github
aws/deep-learning-containers issue 4668; no AWS page states it)."""
