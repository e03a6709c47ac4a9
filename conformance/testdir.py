"""The test-dir a user hands the harness, and its policy file ``conformance.toml``.

The test-dir is read, never written: every run stages its own copy.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import codecs, contract
from conformance.failures import HarnessError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POLICY_FILE = "conformance.toml"
TRAIN_KEYS = {"sigterm_hyperparameters", "metric_definitions", "multi_host", "resume_log"}
PROFILES = ("train+serve", "serve-only", "train-only")
_POLICY_KEYS = {
    "profile", "content_type", "accept", "accept_fallback", "payload", "expected_output", "csv_header", "env", "waive",
    "train", "serverless", "document", "streaming", "async",
}  # fmt: skip
DOCUMENT_SHAPES = ("inputs", "messages", "prompt")
STREAM_FORMATS = ("sse", "jsonlines")


EXPECTED_OUTPUT = "expected_output.csv"
"""Read as the expected response records when present, unless conformance.toml names another file."""


@dataclass(frozen=True)
class Document:
    """``[document]``: the request is one JSON document of a generative model, not a list of records (SRV-21)."""

    shape: str
    """"inputs" (``{"inputs": str, "parameters": {...}}``), "messages" (``{"messages": [{"role", "content"}]}``) or
    "prompt" (``{"prompt": str}``)."""
    answer_text: str = ""
    """Dotted path of the generated text in the non-streamed answer ("0.generated_text"); "" = the whole answer."""


@dataclass(frozen=True)
class Streaming:
    """``[streaming]``: the image streams its answer when a call asks for it (SRV-22..SRV-24)."""

    accept: str | None = None
    """The Accept value that asks for a stream (e.g. text/event-stream); None: the body alone asks."""
    body: Mapping[str, Any] = field(default_factory=dict)
    """Members merged into the request document to ask for a stream (e.g. ``{"stream": true}``)."""
    format: str = "sse"
    """"sse" (``data:`` events) or "jsonlines" (one JSON document per line)."""
    text: str = ""
    """Dotted path of each frame's text in the frame's JSON; "" = the frame's data is the text."""
    deterministic: bool = False
    """The frames' texts, joined, equal the non-streamed answer's text."""


@dataclass(frozen=True)
class Asynchronous:
    """``[async]``: the image is deployed to asynchronous endpoints (ENV-10..ENV-13)."""

    invocation_timeout_s: int = contract.ASYNC_DEFAULT_INVOCATION_TIMEOUT_S
    """The endpoint's InvocationTimeoutSeconds (at most 3600)."""
    max_request_mb: float = contract.MAX_REQUEST_BYTES / contract.MEGABYTE
    """The largest request body the image declares it takes, in MB."""
    long_payload: str | None = None
    """A request the model takes longer than 60 s to answer, within ``invocation_timeout_s`` (ENV-12); None: the
    image declares none, and ENV-12 is not judged."""


@dataclass(frozen=True)
class Policy:
    """What the image declares about itself (the README, "Writing a test-dir")."""

    profile: str = "train+serve"
    content_type: str = contract.CSV
    """The request's media type: sent as Content-Type, and the codec that counts, splits and generates payloads."""
    accept: str | None = None
    """The response's media type: sent as Accept, and the codec that reads responses whose own Content-Type the
    harness has no codec for. None: no Accept header; responses are read by their own Content-Type, else as lines."""
    accept_fallback: bool = False
    """An Accept the image cannot produce is answered 200 in the declared output type, not refused with 406
    (SRV-18)."""
    payload: str = "payload.csv"
    expected_output: str | None = None
    csv_header: bool = False
    workers_env: str | None = None
    """The worker-count variable ENV-1/2 judge; "" declares none; None lets ENV-1..3 recognise the stack."""
    timeout_env: str | None = None
    """The timeout variable ENV-3 judges; "" declares none; None lets ENV-3 recognise the stack."""
    waive: Mapping[str, str] = field(default_factory=dict)
    sigterm_hyperparameters: Mapping[str, str] = field(default_factory=dict)
    serverless_memory_mb: int | None = None
    """``[serverless] memory_mb``: the image is deployed to serverless endpoints with this memory size (ENV-8)."""
    metric_definitions: tuple[tuple[str, str], ...] = ()
    """``[train] metric_definitions``: (Name, Regex) pairs, as a user gives them to the Estimator (TRN-11)."""
    multi_host: bool = False
    """``[train] multi_host``: the image trains a job with instance_count > 1 (TRN-12)."""
    resume_log: str | None = None
    """``[train] resume_log``: a regex of the log line the image prints when it resumes from a checkpoint;
    declaring it claims that training resumes from /opt/ml/checkpoints (TRN-13)."""
    document: Document | None = None
    """``[document]``: one JSON document is one request (SRV-21); None: the request holds records."""
    streaming: Streaming | None = None
    """``[streaming]``: how a call asks for a streamed answer (SRV-22..SRV-24); None: not claimed."""
    asynchronous: Asynchronous | None = None
    """``[async]``: deployed to asynchronous endpoints (ENV-10..ENV-13); None: not claimed."""

    @property
    def trains(self) -> bool:
        return self.profile != "serve-only"

    @property
    def serves(self) -> bool:
        return self.profile != "train-only"


@dataclass(frozen=True)
class TestDir:
    """A test-dir, validated: hyperparameters, channels, payload and policy."""

    __test__ = False  # not a pytest test class, despite its name

    root: Path
    policy: Policy
    hyperparameters: Mapping[str, str]
    channels: Mapping[str, Path]
    payload: bytes
    expected_output: tuple[str, ...] | None
    model_dir: Path | None
    codec: codecs.Codec | None = None
    """The request codec, fitted to the payload (None when the image does not serve)."""
    records: tuple[bytes, ...] = ()
    """The payload's records, as the request codec splits them."""
    long_payload: bytes | None = None
    """``[async] long_payload``'s body (ENV-12)."""

    @property
    def name(self) -> str:
        return self.root.name


def load(root: Path) -> TestDir:
    """Read and validate a test-dir; every problem ends in one HarnessError that says what to fix."""
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise HarnessError(f"--test-dir {root} is not a directory. Point it at a folder shaped like /opt/ml.")
    policy = _load_policy(root / POLICY_FILE)
    hyperparameters = _load_hyperparameters(root / "input" / "config" / contract.HYPERPARAMETERS_FILE)
    data = root / "input" / "data"
    channels = {p.name: p for p in sorted(data.iterdir()) if p.is_dir()} if data.is_dir() else {}
    if policy.trains and not channels:
        raise HarnessError(
            f"test-dir {root} has no training channels: expected input/data/<channel>/ with data files "
            f'(or set profile = "serve-only" in {POLICY_FILE} and ship a model/ folder).'
        )
    payload_path = root / policy.payload
    if policy.serves and not payload_path.is_file():
        raise HarnessError(
            f"test-dir {root} has no {policy.payload}: the harness needs a request body for /invocations."
        )
    payload = payload_path.read_bytes() if payload_path.is_file() else b""
    if policy.serves and not payload.strip():
        raise HarnessError(f"{payload_path} is empty: give at least one record.")
    codec: codecs.Codec | None = None
    records: tuple[bytes, ...] = ()
    if policy.serves:
        try:
            codec = codecs.for_request(
                policy.content_type,
                payload,
                header=policy.csv_header,
                document=policy.document.shape if policy.document else None,
            )
        except codecs.CodecError as error:
            raise HarnessError(f"{payload_path} as content_type = {policy.content_type!r}: {error}.") from None
        records = tuple(codec.split(payload) or ())
    expected = None
    # The conventional file counts when present: a user who drops it in expects it compared, named or not.
    expected_name = policy.expected_output or (EXPECTED_OUTPUT if (root / EXPECTED_OUTPUT).is_file() else None)
    if expected_name:
        expected_path = root / expected_name
        if not expected_path.is_file():
            raise HarnessError(f"{POLICY_FILE} names expected_output = {policy.expected_output!r}, which is missing.")
        expected = tuple(line for line in expected_path.read_text().splitlines() if line.strip())
        if len(expected) != len(records):
            raise HarnessError(
                f"{expected_path} has {len(expected)} records but {payload_path.name} has {len(records)} "
                f"({codec.name if codec else 'no'} records): give one expected output record per input record, "
                "one per line."
            )
    model_dir = root / "model"
    has_model = model_dir.is_dir() and any(p.is_file() for p in model_dir.rglob("*"))
    if policy.profile == "serve-only" and not has_model:
        raise HarnessError(
            f"profile is serve-only but {model_dir} holds no model files to mount at {contract.MODEL_DIR}."
        )
    long_payload = None
    if policy.asynchronous is not None and policy.asynchronous.long_payload is not None:
        long_path = root / policy.asynchronous.long_payload
        if not long_path.is_file():
            raise HarnessError(f"{POLICY_FILE} names [async] long_payload = {long_path.name!r}, which is missing.")
        long_payload = long_path.read_bytes()
    return TestDir(
        root=root,
        policy=policy,
        hyperparameters=hyperparameters,
        channels=channels,
        payload=payload,
        expected_output=expected,
        model_dir=model_dir if has_model else None,
        codec=codec,
        records=records,
        long_payload=long_payload,
    )


def _load_hyperparameters(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise HarnessError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise HarnessError(f"{path} must hold a JSON object, not {type(raw).__name__}.")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise HarnessError(
                f"{path}: {key!r} is {value!r} ({type(value).__name__}). SageMaker passes every hyperparameter "
                f"as a string: write {json.dumps(str(value))}."
            )
    return raw


def _load_policy(path: Path) -> Policy:
    if not path.is_file():
        return Policy()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise HarnessError(f"{path} is not valid TOML: {error}") from None
    unknown = set(raw) - _POLICY_KEYS
    if unknown:
        raise HarnessError(f"{path}: unknown key(s) {sorted(unknown)}; known keys are {sorted(_POLICY_KEYS)}.")
    profile = _get(raw, "profile", str, "train+serve", path)
    if profile not in PROFILES:
        raise HarnessError(f"{path}: profile = {profile!r} is not one of {', '.join(PROFILES)}.")
    env = _get(raw, "env", dict, {}, path)
    train = _get(raw, "train", dict, {}, path)
    for table, name, known in ((env, "env", {"workers", "timeout"}), (train, "train", TRAIN_KEYS)):
        if set(table) - known:
            raise HarnessError(
                f"{path}: unknown key(s) {sorted(set(table) - known)} in [{name}]; known: {sorted(known)}."
            )
    serverless = _get(raw, "serverless", dict, {}, path)
    if set(serverless) - {"memory_mb"}:
        raise HarnessError(f"{path}: unknown key(s) {sorted(set(serverless) - {'memory_mb'})} in [serverless].")
    memory_mb = _get(serverless, "memory_mb", int, None, path)
    if "serverless" in raw and memory_mb not in contract.SERVERLESS_MEMORY_SIZES_MB:
        sizes = ", ".join(str(size) for size in contract.SERVERLESS_MEMORY_SIZES_MB)
        raise HarnessError(f"{path}: [serverless] memory_mb = {memory_mb!r} is not one of {sizes} (MemorySizeInMB).")
    waive = _get(raw, "waive", dict, {}, path)
    for clause_id, reason in waive.items():
        if not isinstance(reason, str) or not reason.strip():
            raise HarnessError(f'{path}: [waive] {clause_id} needs a written reason, e.g. {clause_id} = "why".')
    sigterm_hp = train.get("sigterm_hyperparameters", {})
    if not isinstance(sigterm_hp, dict) or not all(isinstance(v, str) for v in sigterm_hp.values()):
        raise HarnessError(f"{path}: [train] sigterm_hyperparameters must map names to strings.")
    metrics = _metric_definitions(train.get("metric_definitions", []), path)
    return Policy(
        profile=profile,
        content_type=_get(raw, "content_type", str, contract.CSV, path),
        accept=_get(raw, "accept", str, None, path),
        accept_fallback=_get(raw, "accept_fallback", bool, False, path),
        payload=_get(raw, "payload", str, "payload.csv", path),
        expected_output=_get(raw, "expected_output", str, None, path),
        csv_header=_get(raw, "csv_header", bool, False, path),
        workers_env=_get(env, "workers", str, None, path),
        timeout_env=_get(env, "timeout", str, None, path),
        waive=waive,
        sigterm_hyperparameters=sigterm_hp,
        serverless_memory_mb=memory_mb,
        metric_definitions=metrics,
        multi_host=_get(train, "multi_host", bool, False, path),
        resume_log=_regex(_get(train, "resume_log", str, None, path), "[train] resume_log", path),
        document=_document(raw, path),
        streaming=_streaming(raw, path),
        asynchronous=_asynchronous(raw, path),
    )


def _table(raw: Mapping[str, Any], name: str, known: set[str], path: Path) -> dict[str, Any] | None:
    """A policy table, its keys checked; None when the policy has none (the capability is not claimed)."""
    if name not in raw:
        return None
    table: dict[str, Any] = _get(raw, name, dict, {}, path)
    if set(table) - known:
        raise HarnessError(f"{path}: unknown key(s) {sorted(set(table) - known)} in [{name}]; known: {sorted(known)}.")
    return table


def _document(raw: Mapping[str, Any], path: Path) -> Document | None:
    table = _table(raw, "document", {"shape", "answer_text"}, path)
    if table is None:
        return None
    shape = _get(table, "shape", str, None, path)
    if shape not in DOCUMENT_SHAPES:
        raise HarnessError(f"{path}: [document] shape = {shape!r} is not one of {', '.join(DOCUMENT_SHAPES)}.")
    if _get(raw, "content_type", str, contract.CSV, path).split(";")[0].strip().lower() != contract.JSON:
        raise HarnessError(f'{path}: [document] needs content_type = "{contract.JSON}" (one JSON document).')
    return Document(shape, _get(table, "answer_text", str, "", path))


def _streaming(raw: Mapping[str, Any], path: Path) -> Streaming | None:
    table = _table(raw, "streaming", {"accept", "body", "format", "text", "deterministic"}, path)
    if table is None:
        return None
    accept = _get(table, "accept", str, None, path)
    body = _get(table, "body", dict, {}, path)
    if not accept and not body:
        raise HarnessError(
            f'{path}: [streaming] must say how a call asks for a stream: accept = "text/event-stream" and/or '
            "body = { stream = true }."
        )
    if body and "document" not in raw:
        raise HarnessError(f"{path}: [streaming] body members are merged into a JSON document: declare [document].")
    format_ = _get(table, "format", str, "sse", path)
    if format_ not in STREAM_FORMATS:
        raise HarnessError(f"{path}: [streaming] format = {format_!r} is not one of {', '.join(STREAM_FORMATS)}.")
    return Streaming(
        accept=accept,
        body=body,
        format=format_,
        text=_get(table, "text", str, "", path),
        deterministic=_get(table, "deterministic", bool, False, path),
    )


def _asynchronous(raw: Mapping[str, Any], path: Path) -> Asynchronous | None:
    table = _table(raw, "async", {"invocation_timeout_s", "max_request_mb", "long_payload"}, path)
    if table is None:
        return None
    timeout = _get(table, "invocation_timeout_s", int, contract.ASYNC_DEFAULT_INVOCATION_TIMEOUT_S, path)
    if not 1 <= timeout <= contract.ASYNC_MAX_INVOCATION_TIMEOUT_S:
        raise HarnessError(
            f"{path}: [async] invocation_timeout_s = {timeout} is outside 1..{contract.ASYNC_MAX_INVOCATION_TIMEOUT_S} "
            "(InvocationTimeoutSeconds)."
        )
    size = table.get("max_request_mb", contract.MAX_REQUEST_BYTES / contract.MEGABYTE)
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size <= contract.ASYNC_MAX_REQUEST_MB:
        raise HarnessError(
            f"{path}: [async] max_request_mb = {size!r} must be a number of MB up to {contract.ASYNC_MAX_REQUEST_MB} "
            "(an asynchronous request's payload is at most 1 GB)."
        )
    return Asynchronous(timeout, float(size), _get(table, "long_payload", str, None, path))


def _regex(value: str | None, name: str, path: Path) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as error:
            raise HarnessError(f"{path}: {name} = {value!r} is not a valid regex: {error}.") from None
    return value


def _metric_definitions(raw: Any, path: Path) -> tuple[tuple[str, str], ...]:
    """``[train] metric_definitions = [{ Name = "...", Regex = "..." }]``: Estimator(metric_definitions=...)."""
    example = '[train] metric_definitions = [{ Name = "train:loss", Regex = "loss=([0-9.]+)" }]'
    if not isinstance(raw, list):
        raise HarnessError(f"{path}: [train] metric_definitions must be a list of tables, e.g. {example}.")
    pairs = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or set(item) != {"Name", "Regex"}
            or not all(isinstance(v, str) and v for v in item.values())
        ):
            raise HarnessError(f"{path}: each metric definition needs exactly a Name and a Regex, e.g. {example}.")
        try:
            re.compile(item["Regex"])
        except re.error as error:
            raise HarnessError(
                f"{path}: metric {item['Name']!r}: Regex {item['Regex']!r} is invalid: {error}."
            ) from None
        pairs.append((item["Name"], item["Regex"]))
    return tuple(pairs)


def _get(table: Mapping[str, Any], key: str, kind: type, default: Any, path: Path) -> Any:
    value = table.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise HarnessError(f"{path}: {key} = {value!r} must be a {kind.__name__}.")
    return value
