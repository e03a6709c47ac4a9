"""Staging /opt/ml/input as SageMaker writes it, from a test-dir that is only ever read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conformance import contract
from conformance.opt_ml import TRAIN_DEFAULT, TrainSpec, input_data_config, resource_config, stage_input
from conformance.testdir import TestDir, load

from .checkfakes import PAYLOAD, write_test_dir

CHANNELS = {
    "training": {"part-0.csv": PAYLOAD, "more/part-1.csv": b"1,2,3,4\n"},
    "validation": {"v.csv": b"4,3,2,1\n"},
}


@pytest.fixture
def test_dir(tmp_path: Path) -> TestDir:
    return load(write_test_dir(tmp_path / "td", hyperparameters='{"max_depth": "3", "eta": "0.1"}', channels=CHANNELS))


def tree_hash(root: Path) -> str:
    """Names, modes and contents of everything under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + oct(path.stat().st_mode).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def read(input_dir: Path, name: str) -> object:
    return json.loads((input_dir / "config" / name).read_text())


def test_hyperparameters_are_the_test_dirs_as_strings(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TRAIN_DEFAULT, tmp_path / "stage")
    assert input_dir == tmp_path / "stage" / "input"
    assert read(input_dir, contract.HYPERPARAMETERS_FILE) == {"max_depth": "3", "eta": "0.1"}


def test_hyperparameters_replaced_and_extended(test_dir: TestDir, tmp_path: Path) -> None:
    empty = stage_input(test_dir, TrainSpec("empty", hyperparameters={}), tmp_path / "a")
    assert read(empty, contract.HYPERPARAMETERS_FILE) == {}
    extra = stage_input(
        test_dir, TrainSpec("extra", extra_hyperparameters=contract.TUNING_HYPERPARAMETERS), tmp_path / "b"
    )
    written = read(extra, contract.HYPERPARAMETERS_FILE)
    assert written == {"max_depth": "3", "eta": "0.1", **contract.TUNING_HYPERPARAMETERS}
    assert isinstance(written, dict)
    assert all(isinstance(value, str) for value in written.values())
    assert written["sagemaker_region"] == '"us-east-1"', (
        "framework keys are JSON-encoded strings, as the SDK writes them"
    )


def test_full_config_form(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TrainSpec("full", config_form="full"), tmp_path / "stage")
    channels = read(input_dir, contract.INPUT_DATA_CONFIG_FILE)
    assert isinstance(channels, dict)
    assert sorted(channels) == ["training", "validation"]
    for config in channels.values():
        assert config["TrainingInputMode"] == "File"
        assert config["S3DistributionType"] == "FullyReplicated"
        assert config["RecordWrapperType"] == "None"
        assert config["ContentType"] == "text/csv"
        assert "SageMakerConformanceExtraKey" in config, "the full form carries a key no image knows"
    resources = read(input_dir, contract.RESOURCE_CONFIG_FILE)
    assert isinstance(resources, dict)
    assert resources["current_host"] == contract.CURRENT_HOST == "algo-1"
    assert resources["hosts"] == ["algo-1"]
    assert resources["network_interface_name"] == "eth0"
    assert resources["current_instance_type"].startswith("ml.")
    assert resources["instance_groups"][0]["hosts"] == ["algo-1"]
    assert resources["current_group_name"] == resources["instance_groups"][0]["instance_group_name"]


def test_minimal_config_form(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TrainSpec("minimal", config_form="minimal"), tmp_path / "stage")
    assert read(input_dir, contract.INPUT_DATA_CONFIG_FILE) == {
        "training": {"TrainingInputMode": "File"},
        "validation": {"TrainingInputMode": "File"},
    }
    resources = read(input_dir, contract.RESOURCE_CONFIG_FILE)
    assert isinstance(resources, dict)
    assert resources["current_host"] == "algo-1"
    assert resources["hosts"] == ["algo-1"]
    assert "instance_groups" not in resources


def test_both_config_files_are_always_written(test_dir: TestDir, tmp_path: Path) -> None:
    for form in ("full", "minimal"):
        input_dir = stage_input(test_dir, TrainSpec(form, config_form=form), tmp_path / form)
        names = sorted(p.name for p in (input_dir / "config").iterdir())
        assert names == sorted(
            [contract.HYPERPARAMETERS_FILE, contract.INPUT_DATA_CONFIG_FILE, contract.RESOURCE_CONFIG_FILE]
        )


def test_config_helpers_agree_with_the_staged_files() -> None:
    channels = {"training": Path("x")}
    assert set(input_data_config(channels, "full")) == {"training"}
    assert resource_config("minimal")["current_host"] == resource_config("full")["current_host"] == "algo-1"


def test_channels_are_copied_byte_for_byte(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TRAIN_DEFAULT, tmp_path / "stage")
    data = input_dir / "data"
    assert (data / "training" / "part-0.csv").read_bytes() == PAYLOAD
    assert (data / "training" / "more" / "part-1.csv").read_bytes() == b"1,2,3,4\n"
    assert (data / "validation" / "v.csv").read_bytes() == b"4,3,2,1\n"
    assert tree_hash(data / "training") == tree_hash(test_dir.channels["training"])


def test_empty_channels(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TrainSpec("empty", channels="empty"), tmp_path / "stage")
    data = input_dir / "data"
    assert sorted(p.name for p in data.iterdir()) == ["training", "validation"]
    assert all(p.is_dir() and not any(p.iterdir()) for p in data.iterdir())
    assert sorted(read(input_dir, contract.INPUT_DATA_CONFIG_FILE)) == ["training", "validation"]  # type: ignore[arg-type]


def test_stray_files(test_dir: TestDir, tmp_path: Path) -> None:
    input_dir = stage_input(test_dir, TrainSpec("stray", channels="stray"), tmp_path / "stage")
    training = input_dir / "data" / "training"
    files = sorted(str(p.relative_to(training)) for p in training.rglob("*") if p.is_file())
    assert files == [
        "README.txt",
        "_SUCCESS",
        "more/part-1.csv",
        "nested/deeper/part-0.csv",
        "nested/deeper/part-1.csv",
        "part-0.csv",
    ]
    assert (training / "_SUCCESS").read_bytes() == b""
    assert (training / "nested" / "deeper" / "part-0.csv").read_bytes() == PAYLOAD


def test_restaging_leaves_nothing_behind(test_dir: TestDir, tmp_path: Path) -> None:
    stage_input(test_dir, TrainSpec("stray", channels="stray"), tmp_path / "stage")
    input_dir = stage_input(test_dir, TrainSpec("empty", channels="empty"), tmp_path / "stage")
    assert not any(p.is_file() for p in (input_dir / "data").rglob("*"))


@pytest.mark.parametrize(
    "spec",
    [
        TRAIN_DEFAULT,
        TrainSpec("empty-hp", hyperparameters={}),
        TrainSpec("extra", extra_hyperparameters={"sagemaker_x": "1"}),
        TrainSpec("minimal", config_form="minimal"),
        TrainSpec("empty", channels="empty"),
        TrainSpec("stray", channels="stray"),
    ],
    ids=lambda spec: spec.name,
)
def test_never_writes_into_the_test_dir(spec: TrainSpec, test_dir: TestDir, tmp_path: Path) -> None:
    before = tree_hash(test_dir.root)
    stage_input(test_dir, spec, tmp_path / "stage")
    assert tree_hash(test_dir.root) == before
    assert not (test_dir.root / "input" / "config" / contract.INPUT_DATA_CONFIG_FILE).exists()
