"""Where the served model comes from when training does not give one (the harness's own logic, no Docker)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from conformance.failures import DependencyFailed
from conformance.opt_ml import TrainSpec
from conformance.sharing import Certification
from conformance.targets.results import TrainResult
from conformance.testdir import load
from conformance.trainings import MINIMAL_FORM_MODEL_NOTE, TEST_DIR_MODEL_NOTE

from .checkfakes import GoodImage, trained, write_test_dir
from .faketarget import FakeCertification


@dataclass
class Scripted(GoodImage):
    """Each training run's result, by spec name."""

    runs: dict[str, TrainResult] = field(default_factory=dict)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        return self.runs[spec.name]


def certification(tmp_path: Path, runs: dict[str, TrainResult], *, model: bool) -> Certification:
    root = write_test_dir(tmp_path / "td", extra={"model/model.pkl": b"a model"} if model else None)
    return FakeCertification(Scripted(runs=runs), load(root), tmp_path / "stage")


BROKEN = trained(exit_code=1, model_files={})


def test_a_failed_training_serves_the_test_dirs_model_and_says_so(tmp_path: Path) -> None:
    made = certification(tmp_path, {"default": BROKEN, "minimal-config": BROKEN}, model=True)
    assert made.model_source() == tmp_path / "td" / "model"
    assert made.model_note == TEST_DIR_MODEL_NOTE


def test_a_failed_training_without_a_model_folder_depends_on_trn1(tmp_path: Path) -> None:
    made = certification(tmp_path, {"default": BROKEN, "minimal-config": BROKEN}, model=False)
    with pytest.raises(DependencyFailed, match="TRN-1"):
        made.model_source()


def test_the_minimal_runs_model_is_served_when_only_the_minimal_form_trains(tmp_path: Path) -> None:
    minimal = replace(trained("minimal-config"), model_dir=tmp_path / "minimal-model")
    made = certification(tmp_path, {"default": BROKEN, "minimal-config": minimal}, model=True)
    assert made.model_source() == tmp_path / "minimal-model"
    assert made.model_note == MINIMAL_FORM_MODEL_NOTE


def test_the_default_runs_model_needs_no_note(tmp_path: Path) -> None:
    default = replace(trained(), model_dir=tmp_path / "default-model")
    made = certification(tmp_path, {"default": default}, model=True)
    assert made.model_source() == tmp_path / "default-model"
    assert made.model_note is None
