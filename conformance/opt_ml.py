"""Staging the ``/opt/ml`` tree SageMaker would write for a training job, from a test-dir.

The staged copy lives in the run's own folder; the user's test-dir is only read.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from conformance import contract
from conformance.testdir import TestDir


@dataclass(frozen=True)
class TrainSpec:
    """One configuration of a training run; runs with equal specs are shared between checks."""

    name: str
    hyperparameters: Mapping[str, str] | None = None
    """``None`` means the test-dir's own."""
    extra_hyperparameters: Mapping[str, str] = field(default_factory=dict)
    config_form: str = "full"
    """``full``: the documented service form with extra keys; ``minimal``: what local mode writes."""
    channels: str = "test-dir"
    """``test-dir``; ``empty`` (every channel present but empty); ``stray`` (stray files and nested folders)."""
    egress: bool = True
    """False: network isolation, an internal network with no egress (the hosts still resolve on it)."""
    hostname: str | None = None
    """``None``: a random hostname, as SageMaker's is not ``current_host``; TRN-3 sets ``current_host`` to tell
    an image that relies on its hostname."""
    current_host: str = contract.CURRENT_HOST
    hosts: tuple[str, ...] = contract.HOSTS
    """resourceconfig.json's ``current_host`` and ``hosts``; only ``current_host`` resolves to the container."""
    extra_config: bool = False
    """Also write the config files SageMaker adds for some jobs (checkpoints, debugger) and an unknown one."""
    timeout: float | None = None
    """A bound of the clause's own, below the harness's ``--train-timeout`` (None: that one)."""
    checkpoints: Path | None = None
    """A folder copied into /opt/ml/checkpoints before the run, as SageMaker copies a job's checkpoints in."""
    stop_at_checkpoint: bool = False
    """Stop the run (SIGTERM, as StopTrainingJob) as soon as a file appears in /opt/ml/checkpoints."""
    sigterm_after: float | None = None
    """Stop the run (SIGTERM, as StopTrainingJob) once PID 1 takes the signal, at the earliest this many s in."""
    shareable: bool = False
    """A condition a correct image tolerates together with the other shareable ones (no egress, stray channel
    files, extra config files, only the hyperparameter keys tuning adds): one run with all of them stands for each
    while it trains (:func:`combine`)."""


TRAIN_DEFAULT = TrainSpec("default")
TRAIN_DEFAULTS_AND_EXTRA_KEYS = TrainSpec(
    "defaults-and-extra-keys", hyperparameters=contract.TUNING_HYPERPARAMETERS, shareable=True
)
"""None of the algorithm's own hyperparameters (its defaults must do), only the keys real jobs add."""
TRAIN_MINIMAL_CONFIG = TrainSpec("minimal-config", config_form="minimal")
TRAIN_EMPTY_CHANNEL = TrainSpec("empty-channel", channels="empty")
TRAIN_ISOLATED = TrainSpec("isolated", egress=False, shareable=True)
TRAIN_HOSTNAME_IS_CURRENT_HOST = TrainSpec("hostname-current-host", hostname=contract.CURRENT_HOST)
"""The default run, except that the hostname is ``current_host``, as local mode and ``--hostname`` make it."""
TRAIN_STRAY_FILES = TrainSpec("stray-files", channels="stray", shareable=True)
TRAIN_EXTRA_CONFIG_FILES = TrainSpec("extra-config-files", extra_config=True, shareable=True)
"""The default run plus checkpointconfig.json, trainingjobconfig.json, debughookconfig.json and an unknown file."""
SHAREABLE = (TRAIN_ISOLATED, TRAIN_STRAY_FILES, TRAIN_EXTRA_CONFIG_FILES, TRAIN_DEFAULTS_AND_EXTRA_KEYS)


def combine(specs: Sequence[TrainSpec]) -> TrainSpec:
    """One run with the conditions of every shareable spec in ``specs`` (TRN-2, TRN-6, TRN-8, TRN-9 on one container). A
    correct image trains under all of them at once; when that run does not train, each spec runs on its own, so a
    failure is still judged on its clause's own condition alone."""
    if any(not spec.shareable for spec in specs) or len(specs) < 2:
        raise ValueError(f"not shareable together: {[spec.name for spec in specs]}")
    base = TrainSpec("+".join(spec.name for spec in specs), shareable=True)
    changes: dict[str, object] = {}
    for spec in specs:
        for name in ("egress", "channels", "extra_config", "hyperparameters"):
            value, default = getattr(spec, name), getattr(base, name)
            if value != default:
                if changes.get(name, value) != value:
                    raise ValueError(f"{spec.name} and another spec set {name} differently")
                changes[name] = value
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


UNKNOWN_CONFIG_FILE: Final = "sagemaker-conformance-unknown.json"
"""A config file no image can know: SageMaker adds new ones over time (profilerconfig.json, ...)."""


def stage_input(test_dir: TestDir, spec: TrainSpec, destination: Path) -> Path:
    """Write ``input/`` (config and channels) under ``destination`` as SageMaker would; returns it."""
    input_dir = destination / "input"
    if input_dir.exists():
        shutil.rmtree(input_dir)
    config = input_dir / "config"
    config.mkdir(parents=True)
    hyperparameters = dict(test_dir.hyperparameters if spec.hyperparameters is None else spec.hyperparameters)
    hyperparameters.update(spec.extra_hyperparameters)
    _write_json(config / contract.HYPERPARAMETERS_FILE, hyperparameters)
    _write_json(config / contract.INPUT_DATA_CONFIG_FILE, input_data_config(test_dir.channels, spec.config_form))
    _write_json(
        config / contract.RESOURCE_CONFIG_FILE, resource_config(spec.config_form, spec.current_host, spec.hosts)
    )
    if spec.extra_config:
        for name, value in extra_config_files().items():
            _write_json(config / name, value)
    if spec.checkpoints is not None:
        checkpoints = destination / "checkpoints"
        if checkpoints.exists():
            shutil.rmtree(checkpoints)
        shutil.copytree(spec.checkpoints, checkpoints)
    data = input_dir / "data"
    data.mkdir()
    for name, source in test_dir.channels.items():
        target = data / name
        if spec.channels == "empty":
            target.mkdir()
            continue
        shutil.copytree(source, target)
        if spec.channels == "stray":
            # What S3 prefixes really hold besides the data: markers, notes, nested copies.
            (target / "_SUCCESS").write_bytes(b"")
            (target / "README.txt").write_text("Written by an upstream job; not training data.\n")
            nested = target / "nested" / "deeper"
            nested.mkdir(parents=True)
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                shutil.copy2(path, nested / path.name)
    return input_dir


def input_data_config(channels: Mapping[str, Path], form: str) -> dict[str, dict[str, str]]:
    """``inputdataconfig.json``: the service's full form (plus an unknown key) or local mode's minimal one."""
    if form == "minimal":
        return {name: {"TrainingInputMode": "File"} for name in channels}
    return {
        name: {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
            "SageMakerConformanceExtraKey": "tolerate-me",
        }
        for name in channels
    }


def resource_config(
    form: str, current_host: str = contract.CURRENT_HOST, all_hosts: tuple[str, ...] = contract.HOSTS
) -> dict[str, object]:
    """``resourceconfig.json`` (contract.DG_TRAIN_INFO): by default one instance named ``current_host``."""
    host, hosts = current_host, list(all_hosts)
    if form == "minimal":
        return {
            "current_host": host,
            "hosts": hosts,
            "network_interface_name": "eth0",
            "current_instance_type": "local",
        }
    return {
        "current_host": host,
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.xlarge", "hosts": hosts}
        ],
        "network_interface_name": "eth0",
        "topology": None,
    }


def extra_config_files() -> dict[str, object]:
    """The config files SageMaker writes besides the documented three when a job asks for checkpoints
    (contract.CHECKPOINT_CONFIG_FILE) or the debugger (contract.DEBUG_HOOK_CONFIG_FILE), the job's own
    description (contract.TRAINING_JOB_CONFIG_FILE), and one no image can know."""
    return {
        contract.CHECKPOINT_CONFIG_FILE: {"LocalPath": contract.CHECKPOINTS_DIR, "S3Uri": "s3://bucket/checkpoints"},
        contract.TRAINING_JOB_CONFIG_FILE: {
            "TrainingJobName": contract.TRAINING_JOB_NAME,
            "TrainingJobArn": contract.TRAINING_JOB_ARN,
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
        contract.DEBUG_HOOK_CONFIG_FILE: {
            "LocalPath": f"{contract.OUTPUT_DIR}/tensors",
            "S3OutputPath": "s3://bucket/debug-output",
            "HookParameters": {},
            "CollectionConfigurations": [],
        },
        UNKNOWN_CONFIG_FILE: {"SageMakerConformance": "a file no image knows; it must be ignored"},
    }


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
