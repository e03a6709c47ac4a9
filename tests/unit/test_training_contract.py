"""TRN-9, TRN-10 and TRN-11 against scripted fake images: extra config files, a lone second host, metric
definitions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.hosts import PEER_WAIT_S
from conformance.checks.training_job import cloudwatch_lines, metric_values
from conformance.failures import HarnessError
from conformance.opt_ml import SHAREABLE, UNKNOWN_CONFIG_FILE, TrainSpec, combine
from conformance.pid1 import StopResult
from conformance.runner import FAIL, PASS, SKIP
from conformance.targets.results import TrainResult
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, failed, trained, write_test_dir
from .faketarget import certify, rendered

METRICS_POLICY = """
[train]
metric_definitions = [
  { Name = "train:accuracy", Regex = "train:accuracy=([0-9.eE+-]+);" },
  { Name = "validation:loss", Regex = "validation:loss=(\\\\S+)" },
]
"""
GOOD_LOG = "2026-12-02 INFO train:accuracy=0.9733;\nepoch 3\tvalidation:loss=0.25\n"


@dataclass
class ReadsConfig(GoodImage):
    """Trains as scripted per config folder: ``refuse_unknown`` fails on files it does not know; ``second_host``
    is what a run as algo-2 gives; ``logs`` is every run's log."""

    refuse_unknown: bool = False
    second_host: TrainResult | None = None
    logs: str = GOOD_LOG
    seen: list[dict[str, object]] = field(default_factory=list)
    timeouts: dict[str, float | None] = field(default_factory=dict)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        config = input_dir / "config"
        resource = json.loads((config / contract.RESOURCE_CONFIG_FILE).read_text())
        self.seen.append(resource)
        self.timeouts[spec.name] = spec.timeout
        names = {p.name for p in config.iterdir()}
        known = {contract.HYPERPARAMETERS_FILE, contract.INPUT_DATA_CONFIG_FILE, contract.RESOURCE_CONFIG_FILE}
        if self.refuse_unknown and names - known:
            return failed(spec.name, failure=f"unexpected config files: {sorted(names - known)}")
        if resource["current_host"] != contract.CURRENT_HOST and self.second_host is not None:
            return replace(self.second_host, spec=f"train-{spec.name}")
        return replace(super().train(spec, sigterm_after, input_dir), logs=self.logs)


def metrics_test_dir(tmp_path: Path, policy: str = METRICS_POLICY) -> TestDir:
    return load_test_dir(write_test_dir(tmp_path / "metrics-test-dir", policy=policy))


# --- TRN-9 --------------------------------------------------------------------------------------------------------


def test_trn9_writes_the_extra_config_files_and_passes_an_image_that_ignores_them(tmp_path: Path) -> None:
    outcome, certification = certify(ReadsConfig(), "TRN-9", tmp_path)
    assert outcome.verdict == PASS
    config = certification.stage / f"train-{combine(SHAREABLE).name}" / "input" / "config"  # the shared run
    names = {p.name for p in config.iterdir()}
    assert {
        contract.CHECKPOINT_CONFIG_FILE,
        contract.TRAINING_JOB_CONFIG_FILE,
        contract.DEBUG_HOOK_CONFIG_FILE,
    } <= names
    assert UNKNOWN_CONFIG_FILE in names
    checkpoint = json.loads((config / contract.CHECKPOINT_CONFIG_FILE).read_text())
    assert checkpoint["LocalPath"] == contract.CHECKPOINTS_DIR


def test_trn9_an_image_that_refuses_unknown_config_files_fails(tmp_path: Path) -> None:
    outcome, _ = certify(ReadsConfig(refuse_unknown=True), "TRN-9", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("TRN-9 [MUST] Extra config files SageMaker writes")
    assert "checkpointconfig.json" in text
    assert "debughookconfig.json" in text
    assert "unexpected config files" in text  # the failure file, as evidence


def test_trn9_other_training_clauses_never_see_the_extra_files(tmp_path: Path) -> None:
    for clause_id in ("TRN-1", "TRN-2", "TRN-3"):
        outcome, _ = certify(ReadsConfig(refuse_unknown=True), clause_id, tmp_path / clause_id)
        assert outcome.verdict == PASS, clause_id


# --- TRN-10 -------------------------------------------------------------------------------------------------------


def test_trn10_stages_two_hosts_with_algo_2_current(tmp_path: Path) -> None:
    image = ReadsConfig()
    outcome, _ = certify(image, "TRN-10", tmp_path)
    assert outcome.verdict == PASS
    assert {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}.items() <= image.seen[-1].items()
    assert image.seen[-1]["instance_groups"] == [
        {"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.xlarge", "hosts": ["algo-1", "algo-2"]}
    ]
    assert "train_second_host_seconds" in outcome.measurements


def test_trn10_a_clean_failure_passes(tmp_path: Path) -> None:
    image = ReadsConfig(second_host=failed(failure="this image trains on one host only; hosts lists 2\n"))
    outcome, _ = certify(image, "TRN-10", tmp_path)
    assert outcome.verdict == PASS


def test_trn10_a_hang_fails_with_the_bound(tmp_path: Path) -> None:
    image = ReadsConfig(second_host=trained(exit_code=None, timed_out=True, seconds=62.5, model_files={}))
    outcome, _ = certify(image, "TRN-10", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training as algo-2 of two hosts hung while algo-1 did not answer" in text
    assert f"exit within {2.5 + PEER_WAIT_S:.0f} s" in text
    assert "so no algo-1 program answers" in text


def test_trn10_a_failure_without_a_cause_fails(tmp_path: Path) -> None:
    image = ReadsConfig(second_host=failed(failure=None, exit_code=1))
    outcome, _ = certify(image, "TRN-10", tmp_path)
    assert outcome.verdict == FAIL
    assert "failed without a cause" in rendered(outcome)


def test_trn10_bounds_the_run_by_the_default_run_plus_the_peer_wait(tmp_path: Path) -> None:
    image = ReadsConfig()
    certify(image, "TRN-10", tmp_path)
    assert image.timeouts == {"default": None, "second-host-alone": 2.5 + PEER_WAIT_S}


# --- TRN-11 -------------------------------------------------------------------------------------------------------


def test_trn11_skipped_without_metric_definitions(tmp_path: Path) -> None:
    outcome, _ = certify(ReadsConfig(), "TRN-11", tmp_path)
    assert outcome.verdict == SKIP


def test_trn11_every_definition_matches_a_number(tmp_path: Path) -> None:
    outcome, _ = certify(ReadsConfig(), "TRN-11", tmp_path, test_dir=metrics_test_dir(tmp_path))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


def test_trn11_a_tab_shows_as_011_in_cloudwatch(tmp_path: Path) -> None:
    image = ReadsConfig(logs="train:accuracy=\t0.97;\nvalidation:loss=0.25\n")
    outcome, _ = certify(image, "TRN-11", tmp_path, test_dir=metrics_test_dir(tmp_path))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Metric 'train:accuracy' captures no number from the training log" in text
    assert "train:accuracy=#0110.97;" in text
    assert text.count("captures no number") == 1  # validation:loss matched


def test_trn11_a_regex_for_the_terminal_gets_a_hint(tmp_path: Path) -> None:
    policy = '[train]\nmetric_definitions = [{ Name = "loss", Regex = "loss:\\\\s+([0-9.]+)" }]\n'
    image = ReadsConfig(logs="epoch 1 loss:\t0.5\n")
    outcome, _ = certify(image, "TRN-11", tmp_path, test_dir=metrics_test_dir(tmp_path, policy))
    assert outcome.verdict == FAIL
    assert "matches the log with real tabs" in rendered(outcome)


def test_trn11_a_capture_that_is_not_a_number_fails(tmp_path: Path) -> None:
    image = ReadsConfig(logs="train:accuracy=0.9;\nvalidation:loss=n/a\n")
    outcome, _ = certify(image, "TRN-11", tmp_path, test_dir=metrics_test_dir(tmp_path))
    assert outcome.verdict == FAIL
    assert "1 match(es), none a number: 'n/a'" in rendered(outcome)


def test_metric_values_take_the_first_group_or_the_match() -> None:
    lines = cloudwatch_lines("[0]\ttrain-rmse:0.5\n[1]\ttrain-rmse:0.25\n")
    assert lines[0] == "[0]#011train-rmse:0.5"
    assert metric_values(lines, r"#011train-rmse:(\S+)") == (["0.5", "0.25"], [])
    assert metric_values(["loss 1e-3"], r"\d+e-\d+") == (["1e-3"], [])


# --- the policy ---------------------------------------------------------------------------------------------------


def test_policy_reads_metric_definitions(tmp_path: Path) -> None:
    policy = metrics_test_dir(tmp_path).policy
    assert policy.metric_definitions == (
        ("train:accuracy", "train:accuracy=([0-9.eE+-]+);"),
        ("validation:loss", "validation:loss=(\\S+)"),
    )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('[train]\nmetric_definitions = { Name = "a", Regex = "b" }\n', "must be a list of tables"),
        ('[train]\nmetric_definitions = [{ Name = "a" }]\n', "exactly a Name and a Regex"),
        ('[train]\nmetric_definitions = [{ Name = "a", Regex = "(" }]\n', "Regex '(' is invalid"),
    ],
)
def test_policy_rejects_bad_metric_definitions(policy: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=re.escape(message)):
        metrics_test_dir(tmp_path, policy)


# --- TRN-12 -------------------------------------------------------------------------------------------------------

MULTI_HOST_POLICY = "[train]\nmulti_host = true\n"


@dataclass
class Cluster(GoodImage):
    """Trains on each host as scripted by current_host: ``models`` per host, ``exit_codes`` per host."""

    models: dict[str, dict[str, bytes]] = field(
        default_factory=lambda: {"algo-1": {"model.pkl": b"tree"}, "algo-2": {}}
    )
    exit_codes: dict[str, int] = field(default_factory=dict)
    root: Path = Path("/nonexistent")

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        resource = json.loads((input_dir / "config" / contract.RESOURCE_CONFIG_FILE).read_text())
        if resource["hosts"] != ["algo-1", "algo-2"]:
            return super().train(spec, sigterm_after, input_dir)
        host = resource["current_host"]
        model_dir = input_dir.parent / "result" / "model"
        model_dir.mkdir(parents=True)
        for name, data in self.models[host].items():
            (model_dir / name).write_bytes(data)
        files = {name: len(data) for name, data in self.models[host].items()}
        return trained(spec.name, model_files=files, model_dir=model_dir, exit_code=self.exit_codes.get(host, 0))


def multi_host(tmp_path: Path) -> TestDir:
    return load_test_dir(write_test_dir(tmp_path / "multi-host-test-dir", policy=MULTI_HOST_POLICY))


def test_trn12_skipped_unless_the_policy_claims_multi_host(tmp_path: Path) -> None:
    outcome, _ = certify(Cluster(), "TRN-12", tmp_path)
    assert outcome.verdict == SKIP
    assert "multi_host = true" in outcome.reason


def test_trn12_a_model_written_by_one_host_passes(tmp_path: Path) -> None:
    outcome, certification = certify(Cluster(), "TRN-12", tmp_path, test_dir=multi_host(tmp_path))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    config = certification.stage / "train-two-hosts-algo-2" / "input" / "config" / contract.RESOURCE_CONFIG_FILE
    assert json.loads(config.read_text())["current_host"] == "algo-2"
    assert "train_two_hosts_seconds" in outcome.measurements


def test_trn12_the_same_name_on_both_hosts_fails(tmp_path: Path) -> None:
    image = Cluster(models={"algo-1": {"model.pkl": b"tree", "a.txt": b"1"}, "algo-2": {"model.pkl": b"tree"}})
    outcome, _ = certify(image, "TRN-12", tmp_path, test_dir=multi_host(tmp_path))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Both hosts wrote model.pkl in /opt/ml/model: one overwrites the other in model.tar.gz" in text
    assert "1 name(s) on both hosts (1 with identical content, 0 differing)" in text
    assert "algo-1: a.txt, model.pkl" in text


def test_trn12_a_host_that_fails_fails(tmp_path: Path) -> None:
    image = Cluster(exit_codes={"algo-2": 1})
    outcome, _ = certify(image, "TRN-12", tmp_path, test_dir=multi_host(tmp_path))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training as algo-2 of two hosts failed" in text
    assert "algo-1 of two hosts" not in text


def test_trn12_no_model_on_any_host_fails(tmp_path: Path) -> None:
    image = Cluster(models={"algo-1": {}, "algo-2": {}})
    outcome, _ = certify(image, "TRN-12", tmp_path, test_dir=multi_host(tmp_path))
    assert outcome.verdict == FAIL
    assert "no host wrote a model" in rendered(outcome)


# --- TRN-13 -------------------------------------------------------------------------------------------------------

RESUME_POLICY = '[train]\nresume_log = "resumed from step \\\\d+"\nsigterm_hyperparameters = { epochs = "1000" }\n'


@dataclass
class Checkpoints(GoodImage):
    """Writes /opt/ml/checkpoints/step-3.ckpt before it is stopped; ``resumes`` says whether it reads it back."""

    resumes: bool = True
    writes: bool = True
    finishes_first: bool = False
    seen: list[tuple[str, bool, bool]] = field(default_factory=list)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        root = input_dir.parent
        given = (root / "checkpoints" / "step-3.ckpt").is_file()
        config = (input_dir / "config" / contract.CHECKPOINT_CONFIG_FILE).is_file()
        self.seen.append((spec.name, given, config))
        if not spec.name.startswith("checkpoint-"):
            return super().train(spec, sigterm_after, input_dir)
        (root / "result" / "checkpoints").mkdir(parents=True)
        files = {}
        if self.writes:
            (root / "result" / "checkpoints" / "step-3.ckpt").write_bytes(b"state")
            files = {"step-3.ckpt": 5}
        if spec.stop_at_checkpoint and not self.finishes_first:
            stop = StopResult(contract.TRAIN_STOP_GRACE_S, 0.3, 143, False) if self.writes else None
            code = 143 if self.writes else 0
            return trained(
                spec.name,
                exit_code=code,
                stop=stop,
                model_files={},
                checkpoint_files=files,
                model_dir=root / "result" / "model",
            )
        logs = "resumed from step 3\nstep 4\n" if given and self.resumes else "step 0\nstep 1\n"
        return trained(spec.name, logs=logs, checkpoint_files=files, model_dir=root / "result" / "model")


def resumable(tmp_path: Path) -> TestDir:
    return load_test_dir(write_test_dir(tmp_path / "resumable-test-dir", policy=RESUME_POLICY))


def test_trn13_skipped_unless_the_policy_claims_resumable(tmp_path: Path) -> None:
    outcome, _ = certify(Checkpoints(), "TRN-13", tmp_path)
    assert outcome.verdict == SKIP
    assert "resume_log" in outcome.reason


def test_trn13_a_run_that_resumes_passes(tmp_path: Path) -> None:
    image = Checkpoints()
    outcome, _ = certify(image, "TRN-13", tmp_path, test_dir=resumable(tmp_path))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    assert ("checkpoint-stopped", False, True) in image.seen
    assert ("checkpoint-resumed", True, True) in image.seen


def test_trn13_a_run_that_starts_over_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Checkpoints(resumes=False), "TRN-13", tmp_path, test_dir=resumable(tmp_path))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "did not resume: it started over" in text
    assert "step-3.ckpt" in text


def test_trn13_no_checkpoint_written_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Checkpoints(writes=False), "TRN-13", tmp_path, test_dir=resumable(tmp_path))
    assert outcome.verdict == FAIL
    assert "wrote nothing to /opt/ml/checkpoints" in rendered(outcome)


def test_trn13_a_run_too_short_to_stop_is_skipped(tmp_path: Path) -> None:
    outcome, _ = certify(Checkpoints(finishes_first=True), "TRN-13", tmp_path, test_dir=resumable(tmp_path))
    assert outcome.verdict == SKIP
    assert "sigterm_hyperparameters" in outcome.reason


def test_policy_reads_resume_log_and_multi_host(tmp_path: Path) -> None:
    policy = metrics_test_dir(tmp_path, '[train]\nresume_log = "resumed at (\\\\d+)"\nmulti_host = true\n').policy
    assert policy.resume_log == "resumed at (\\d+)"
    assert policy.multi_host is True
    with pytest.raises(HarnessError, match="resume_log"):
        metrics_test_dir(tmp_path / "bad", '[train]\nresume_log = "("\n')
