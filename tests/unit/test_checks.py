"""Every check can pass and can fail: the real checks, run by the real runner, against scripted fake images.

A :class:`GoodImage` passes every clause; each broken image below breaks one behaviour, and the test asserts
the verdict and the clause's violation text, as a user would read it.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from conformance import contract, procs, variables
from conformance.checks import serving, timeouts
from conformance.context import Options, ServeSpec
from conformance.context import wait_for as real_wait_for
from conformance.engine import ImageInfo
from conformance.opt_ml import TrainSpec
from conformance.pid1 import SignalDisposition, StopResult
from conformance.procs import Process
from conformance.registry import clauses
from conformance.runner import ERROR, FAIL, PASS, SKIP, WARN
from conformance.targets.results import TrainResult
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir

from .checkfakes import (
    PAYLOAD,
    PROC_NET_TCP_LOOPBACK,
    CapsRecords,
    FakeImage,
    FakeServer,
    GoodImage,
    IgnoresAccept,
    LabelsHtml,
    MultiModel,
    PadsAnswers,
    Response,
    Serverless,
    SharesPorts,
    WritesOutsideTmp,
    certify,
    failed,
    image_info,
    proc_dump,
    rendered,
    serverless_test_dir,
    trained,
    write_test_dir,
)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the timed checks short."""
    monkeypatch.setattr(serving, "CONCURRENT_SECONDS", 0.3)
    for module in (variables, timeouts):
        monkeypatch.setattr(
            module, "wait_for", lambda condition, timeout, interval=0.25: real_wait_for(condition, timeout, 0)
        )


ALL_IDS = [c.id for c in clauses()]


@pytest.mark.parametrize("clause_id", ALL_IDS)
def test_a_conforming_image_passes_every_clause(clause_id: str, tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), clause_id, tmp_path)
    claimed = {"ENV-5": contract.BIND_TO_PORT_LABEL, "ENV-6": contract.BIND_TO_PORT_LABEL}
    claimed["ENV-7"] = contract.MULTI_MODEL_LABEL
    claimed["ENV-8"] = "[serverless] memory_mb"
    claimed["ENV-9"] = "[serverless] memory_mb"
    # TRN-11..13 are judged only when the policy declares them (test_training_contract.py)
    claimed.update({"TRN-11": "[train]", "TRN-12": "[train]", "TRN-13": "[train]"})
    if clause_id in claimed:
        assert outcome.verdict == SKIP
        assert claimed[clause_id] in outcome.reason
        return
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


# --- IMG ----------------------------------------------------------------------------------------------------------


def test_img1_shell_form_entrypoint(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("/bin/sh", "-c", "python /opt/program/main.py")), executables=frozenset({"/bin/sh"})
    )
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("IMG-1 [MUST] train and serve resolve the way SageMaker calls them")
    assert "A shell-form ENTRYPOINT drops the `train`/`serve` argument" in text
    assert "Actual:   ENTRYPOINT ['/bin/sh', '-c', 'python /opt/program/main.py']" in text


@pytest.mark.parametrize(
    ("profile", "executables"), [("train-only", {"/usr/local/bin/train"}), ("serve-only", {"/opt/program/serve"})]
)
def test_img1_judges_only_the_argument_the_profile_uses(profile: str, executables: set[str], tmp_path: Path) -> None:
    # AWS's training toolkit images have `train` and no `serve`: SageMaker never runs them with `serve`.
    root = write_test_dir(tmp_path / "test-dir", policy=f'profile = "{profile}"\n', extra={"model/model.bin": b"m"})
    test_dir = load_test_dir(root)
    outcome, _ = certify(GoodImage(executables=frozenset(executables)), "IMG-1", tmp_path, test_dir=test_dir)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    other = GoodImage(executables=frozenset({"/usr/local/bin/unrelated"}))
    outcome, _ = certify(other, "IMG-1", tmp_path / "other", test_dir=test_dir)
    assert outcome.verdict == FAIL


def test_img1_tini_entrypoint(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("/usr/bin/tini", "--", "/opt/program/entrypoint")),
        executables=frozenset({"/usr/bin/tini", "/opt/program/entrypoint"}),
    )
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    assert "The ENTRYPOINT is the tini initializer, which SageMaker forbids" in rendered(outcome)


def test_img1_missing_train_on_path(tmp_path: Path) -> None:
    image = GoodImage(executables=frozenset({"/opt/program/serve"}))
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "`docker run IMAGE train` cannot start: `train` is not an executable on PATH" in text
    assert 'Actual:   exec: "train": executable file not found in $PATH' in text
    assert outcome.failure is not None
    assert len(outcome.failure.violations) == 1, "serve is on PATH"


def test_img1_entrypoint_that_does_not_exist(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(entrypoint=("/opt/program/entry.sh",)), executables=frozenset())
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    assert "The ENTRYPOINT's program does not exist or is not executable in the image" in rendered(outcome)


def test_img1_exec_form_entrypoint_passes(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("python", "/opt/program/main.py")), executables=frozenset({"/usr/bin/python"})
    )
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == PASS


CONDA_WRAPPER = ("/bin/bash", "-c", 'source activate env && exec "$@"', "--")


def test_img1_wrapper_that_passes_the_argument_through_passes(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(entrypoint=CONDA_WRAPPER), executables=frozenset({"/bin/bash"}))
    outcome, certification = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    assert certification.probes == [("train", "/bin/bash"), ("serve", "/bin/bash")]
    assert any("wrapper ENTRYPOINT probed: `train` reached the stub `train`" in note for note in outcome.notes)


def test_img1_wrapper_that_drops_the_argument_fails(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("/bin/bash", "-c", "exec /opt/program/entrypoint.sh", "--")),
        executables=frozenset({"/bin/bash"}),
        passes_arguments=False,
    )
    outcome, _ = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The wrapper ENTRYPOINT does not pass `train` on" in text
    assert "Actual:   `docker run IMAGE train` ran `serve` instead: the wrapper chose the program itself" in text
    assert "The wrapper ENTRYPOINT does not pass `serve` on" in text
    assert 'e.g. `exec "$@"`' in text


def test_img1_shell_form_is_judged_from_the_config_without_a_probe(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("/bin/sh", "-c", "exec /opt/program/entrypoint.sh")),
        executables=frozenset({"/bin/sh"}),
    )
    outcome, certification = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    assert "shell-form ENTRYPOINT" in rendered(outcome)
    assert certification.probes == []


def test_img1_shell_form_that_reads_dollar_zero_is_probed(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(entrypoint=("/bin/sh", "-c", 'exec "$0" "$@"')), executables=frozenset({"/bin/sh"})
    )
    outcome, certification = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert [argument for argument, _ in certification.probes] == ["train", "serve"]


def test_img1_tini_fails_even_when_arguments_pass_through(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(entrypoint=("tini", "--")), executables=frozenset({"/usr/bin/tini"}))
    outcome, certification = certify(image, "IMG-1", tmp_path)
    assert outcome.verdict == FAIL
    assert "tini" in rendered(outcome)
    assert certification.probes == []


def test_img2_arm64_image(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(architecture="arm64", variant="v8"))
    outcome, _ = certify(image, "IMG-2", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The image is built for another platform; SageMaker would fail with 'exec format error'" in text
    assert "Expected: linux/amd64" in text
    assert "Actual:   linux/arm64/v8" in text
    assert "docker buildx build --platform linux/amd64" in text


def test_img2_arm64_passes_when_arm64_is_asked_for(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(architecture="arm64", variant="v8"))
    outcome, _ = certify(image, "IMG-2", tmp_path, options=Options(platform="linux/arm64", max_examples=0))
    assert outcome.verdict == PASS


def test_img3_model_baked_into_opt_ml_model(tmp_path: Path) -> None:
    image = GoodImage(baked={contract.MODEL_DIR: ["/opt/ml/model/model.pkl"]})
    outcome, _ = certify(image, "IMG-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The image bakes files into /opt/ml/model, which SageMaker hides under a fresh mount" in text
    assert "/opt/ml/model/model.pkl" in text


def test_img3_placeholders_pass(tmp_path: Path) -> None:
    image = GoodImage(
        baked={
            contract.MODEL_DIR: ["/opt/ml/model/.gitkeep"],
            contract.OUTPUT_DIR: ["/opt/ml/output/data/.keep", "/opt/ml/output/empty.txt"],
        },
        baked_sizes={"/opt/ml/model/.gitkeep": 40, "/opt/ml/output/data/.keep": 0, "/opt/ml/output/empty.txt": 0},
    )
    outcome, _ = certify(image, "IMG-3", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert any("placeholder" in note for note in outcome.notes)


def test_img3_a_model_beside_a_gitkeep_still_fails(tmp_path: Path) -> None:
    image = GoodImage(
        baked={contract.MODEL_DIR: ["/opt/ml/model/.gitkeep", "/opt/ml/model/model.pkl", "/opt/ml/model/latest"]},
        baked_sizes={"/opt/ml/model/.gitkeep": 0, "/opt/ml/model/model.pkl": 5120, "/opt/ml/model/latest": -1},
    )
    outcome, _ = certify(image, "IMG-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Actual:   2 file(s)" in text
    assert "/opt/ml/model/model.pkl (5120 bytes)" in text
    assert "/opt/ml/model/latest (a link or special file)" in text
    assert ".gitkeep" not in text.split("Baked files")[1]


def test_trn6_baked_credentials_fail_without_printing_them(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env = (
        "PATH=/opt/program",
        "AWS_REGION=us-east-1",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        f"AWS_SECRET_ACCESS_KEY={secret}",
    )
    outcome, _ = certify(GoodImage(info=image_info(env=env)), "TRN-6", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The image bakes AWS credentials into its environment" in text
    assert "Actual:   AWS_ACCESS_KEY_ID (20 characters), AWS_SECRET_ACCESS_KEY (40 characters)" in text
    assert "execution role" in text
    assert secret not in text
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert "AWS_REGION" not in text


@pytest.mark.parametrize("name", ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])
def test_trn6_session_tokens_are_credentials(name: str, tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(info=image_info(env=(f"{name}=FwoGZXIvYXdzEXAMPLE",))), "TRN-6", tmp_path)
    assert outcome.verdict == FAIL


def test_trn6_region_profile_and_empty_values_pass(tmp_path: Path) -> None:
    env = ("AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1", "AWS_PROFILE=default", "AWS_ACCESS_KEY_ID=")
    outcome, _ = certify(GoodImage(info=image_info(env=env)), "TRN-6", tmp_path)
    assert outcome.verdict == PASS, outcome.reason


# --- TRN ----------------------------------------------------------------------------------------------------------


@dataclass
class Trains(GoodImage):
    """Training runs scripted per spec name; the rest as a good image."""

    runs: Mapping[str, TrainResult] = field(default_factory=dict)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        return self.runs.get(spec.name) or super().train(spec, sigterm_after, input_dir)


def in_both_forms(result: TrainResult) -> dict[str, TrainResult]:
    """The same run with the full config files and with local mode's minimal ones: training itself is broken."""
    return {"default": result, "minimal-config": replace(result, spec="train-minimal-config")}


@dataclass
class ReadsHyperparameters(GoodImage):
    """Reads hyperparameters.json as the container would; ``refuse`` says which ones it cannot train with."""

    refuse: Callable[[dict[str, str]], bool] = lambda hyperparameters: False
    seen: list[dict[str, str]] = field(default_factory=list)

    def train(self, spec: TrainSpec, sigterm_after: float | None, input_dir: Path) -> TrainResult:
        hyperparameters = json.loads((input_dir / "config" / contract.HYPERPARAMETERS_FILE).read_text())
        self.seen.append(hyperparameters)
        if self.refuse(hyperparameters):
            return failed(spec.name, failure=f"KeyError: cannot train with {sorted(hyperparameters)}")
        return super().train(spec, sigterm_after, input_dir)


def test_trn1_exit_code_1(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs=in_both_forms(trained(exit_code=1, model_files={}))), "TRN-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("TRN-1 [MUST] A valid /opt/ml tree trains")
    assert "Training on the test-dir failed" in text
    assert "Expected: exit code 0" in text
    assert "Actual:   exit code 1 after 2.5 s" in text
    # The evidence shows what the harness wrote, and the failure carries the run's logs and a reproduction.
    assert '"current_host": "algo-1"' in text
    assert "training run 'default' logs" in text
    assert "Reproduce with:" in text


def test_trn1_empty_model(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs={"default": trained(model_files={})}), "TRN-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training on the test-dir exited 0 but wrote no model" in text
    assert "Actual:   /opt/ml/model is empty" in text


def test_trn1_failure_file_after_success(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs={"default": trained(failure="warning: something")}), "TRN-1", tmp_path)
    assert outcome.verdict == FAIL
    assert "exited 0 but left a failure file" in rendered(outcome)


def test_trn1_measures_the_training_time(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "TRN-1", tmp_path)
    assert outcome.verdict == PASS
    assert outcome.measurements == {"train_seconds": 2.5}


def test_trn2_no_defaults_for_the_algorithms_own_hyperparameters(tmp_path: Path) -> None:
    image = ReadsHyperparameters(refuse=lambda hyperparameters: "max_depth" not in hyperparameters)
    outcome, _ = certify(image, "TRN-2", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("TRN-2 [MUST] Hyperparameters arrive as strings")
    assert re.search(r"Training with .* failed", text)
    assert "KeyError: cannot train with" in text
    assert any("max_depth" not in seen for seen in image.seen), "TRN-2 trains without the test-dir's hyperparameters"
    assert all(isinstance(v, str) for seen in image.seen for v in seen.values())


def test_trn2_unknown_keys_break_training(tmp_path: Path) -> None:
    image = ReadsHyperparameters(refuse=lambda hp: any(k.startswith(("_", "sagemaker_")) for k in hp))
    outcome, _ = certify(image, "TRN-2", tmp_path)
    assert outcome.verdict == FAIL
    assert "_tuning_objective_metric" in rendered(outcome)
    assert any(set(contract.TUNING_HYPERPARAMETERS) <= set(seen) for seen in image.seen)


def test_trn3_minimal_config_breaks_training(tmp_path: Path) -> None:
    image = Trains(runs={"minimal-config": trained("minimal-config", exit_code=1)})
    outcome, _ = certify(image, "TRN-3", tmp_path)
    assert outcome.verdict == FAIL
    assert "Training with local mode's minimal config files failed" in rendered(outcome)


def test_trn3_depends_on_trn1(tmp_path: Path) -> None:
    # Training fails whatever the hostname and whatever the config form: nothing for TRN-3 to say.
    runs = {
        **in_both_forms(trained(exit_code=1)),
        "hostname-current-host": trained("hostname-current-host", exit_code=1),
    }
    outcome, certification = certify(Trains(runs=runs), "TRN-3", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on TRN-1")
    assert outcome.depends_on == "TRN-1"  # data in the report, for the catalogue's judge
    assert {name for name, _ in certification.trainings} == {"default", "minimal-config", "hostname-current-host"}


def test_trn3_training_that_needs_its_hostname_to_be_current_host(tmp_path: Path) -> None:
    # Only the master writes the model, and the image tells the master by socket.gethostname().
    image = Trains(runs={"default": trained(model_files={}, logs="host 86e9c7b8f043 is not the master\n")})
    outcome, _ = certify(image, "TRN-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training works only when the container's hostname is current_host (algo-1); on SageMaker it is not" in text
    assert contract.HOSTNAME_UNRELIABLE in text
    assert contract.DG_TRAIN_DIST in text
    assert (
        "with a random hostname: exit code 0 after 2.5 s, no model written; with hostname algo-1: exit code 0" in text
    )
    assert "socket.gethostname()" in text
    assert "host 86e9c7b8f043 is not the master" in text


def test_trn3_runs_no_hostname_diagnosis_when_training_works(tmp_path: Path) -> None:
    outcome, certification = certify(GoodImage(), "TRN-3", tmp_path)
    assert outcome.verdict == PASS
    assert "hostname-current-host" not in [name for name, _ in certification.trainings]


def test_trn3_runs_no_hostname_diagnosis_after_a_hung_run(tmp_path: Path) -> None:
    image = Trains(runs={"default": trained(exit_code=None, timed_out=True, model_files={})})
    outcome, certification = certify(image, "TRN-3", tmp_path)
    assert outcome.verdict == SKIP
    assert {name for name, _ in certification.trainings} == {"default"}


REJECTS_FULL_FORM = {"default": failed("default", failure="unknown keys in resourceconfig.json: instance_groups\n")}
"""Only the run with the full documented config files fails: the image rejects keys it does not know."""


def test_trn3_blames_the_full_form_when_only_the_minimal_form_trains(tmp_path: Path) -> None:
    outcome, certification = certify(Trains(runs=REJECTS_FULL_FORM), "TRN-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training with the full documented config files failed, while local mode's minimal form trained" in text
    assert "Actual:   full form: exit code 1 after 2.5 s; minimal form: exit code 0 and a model" in text
    assert "unknown keys in resourceconfig.json: instance_groups" in text
    assert '"instance_groups"' in text.split("Minimal form")[0]
    assert list(dict.fromkeys(name for name, _ in certification.trainings)) == ["default", "minimal-config"]


@pytest.mark.parametrize("clause_id", ["TRN-1", "TRN-2", "TRN-4", "TRN-5", "TRN-6", "TRN-7", "TRN-8"])
def test_the_other_training_clauses_use_the_minimal_form_when_only_it_trains(clause_id: str, tmp_path: Path) -> None:
    outcome, certification = certify(Trains(runs=REJECTS_FULL_FORM), clause_id, tmp_path)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    assert any("TRN-3 holds that failure" in note for note in outcome.notes)
    for name, _ in certification.trainings:
        config = tmp_path / "stage" / f"train-{name}" / "input" / "config" / contract.RESOURCE_CONFIG_FILE
        if name != "default":
            assert "instance_groups" not in config.read_text(), name


def test_a_hung_default_run_is_not_tried_again_in_the_minimal_form(tmp_path: Path) -> None:
    image = Trains(runs={"default": trained(exit_code=None, timed_out=True, model_files={})})
    outcome, certification = certify(image, "TRN-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "minimal-config" not in [name for name, _ in certification.trainings]


def test_trn4_exit_0_on_an_empty_channel(tmp_path: Path) -> None:
    image = Trains(runs={"empty-channel": trained("empty-channel", model_files={"model.pkl": 10})})
    outcome, certification = certify(image, "TRN-4", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Training on an empty channel exited 0: SageMaker would mark the job Completed" in text
    assert "Expected: a non-zero exit code" in text
    assert "1 model file(s) written" in text
    channel = certification.stage / "train-empty-channel/input/data/training"
    assert channel.is_dir()
    assert list(channel.iterdir()) == []


def test_trn4_hang_on_an_empty_channel(tmp_path: Path) -> None:
    image = Trains(runs={"empty-channel": trained("empty-channel", exit_code=None, timed_out=True, seconds=600)})
    outcome, _ = certify(image, "TRN-4", tmp_path)
    assert outcome.verdict == FAIL
    assert "Training on an empty channel hung instead of failing" in rendered(outcome)


@pytest.mark.parametrize(("failure", "actual"), [(None, "missing"), ("", "empty"), ("  \n", "empty")])
def test_trn5_missing_or_empty_failure_file(failure: str | None, actual: str, tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs={"empty-channel": failed(failure=failure)}), "TRN-5", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("TRN-5 [SHOULD] A failing run writes its cause to /opt/ml/output/failure")
    assert "The failed run left no cause in the failure file" in text
    assert f"Actual:   {actual}" in text


def test_trn5_traceback_only_failure_file(tmp_path: Path) -> None:
    frames = "".join(
        f'  File "/opt/program/lib{n}.py", line {n}, in step{n}\n    step{n + 1}(data)\n' for n in range(40)
    )
    traceback = f"Traceback (most recent call last):\n{frames}ValueError: channel training holds no CSV files\n"
    assert len(traceback) > contract.FAILURE_REASON_LIMIT
    outcome, _ = certify(Trains(runs={"empty-channel": failed(failure=traceback)}), "TRN-5", tmp_path)
    assert outcome.verdict == FAIL
    assert "The cause is not within the first 1024 characters of the failure file" in rendered(outcome)


def test_trn5_cause_first_passes(tmp_path: Path) -> None:
    text = "Channel training holds no CSV files.\nTraceback (most recent call last):\n" + '  File "x.py"\n' * 200
    outcome, _ = certify(Trains(runs={"empty-channel": failed(failure=text)}), "TRN-5", tmp_path)
    assert outcome.verdict == PASS


def test_trn5_is_skipped_when_trn4_fails(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs={"empty-channel": trained("empty-channel")}), "TRN-5", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on TRN-4")


def test_trn5_can_be_downgraded_by_the_policy(tmp_path: Path) -> None:
    policy = '[waive]\n"TRN-5" = "the framework writes its own failure file"\n'
    test_dir = load_test_dir(write_test_dir(tmp_path / "td", policy=policy))
    outcome, _ = certify(Trains(runs={"empty-channel": failed(failure=None)}), "TRN-5", tmp_path, test_dir=test_dir)
    assert outcome.verdict == WARN
    assert outcome.reason == "downgraded to a warning by the policy: the framework writes its own failure file"


def test_trn6_fails_without_egress(tmp_path: Path) -> None:
    image = Trains(runs={"isolated": trained("isolated", exit_code=1, failure="ConnectionError: pypi.org")})
    outcome, certification = certify(image, "TRN-6", tmp_path)
    assert outcome.verdict == FAIL
    assert ("isolated", None) in certification.trainings
    text = rendered(outcome)
    assert "Training under network isolation (no egress) failed" in text
    assert "ConnectionError: pypi.org" in text


def test_trn6_credentials_are_reported_when_the_isolated_run_cannot_be_judged(tmp_path: Path) -> None:
    image = Trains(
        info=image_info(env=("AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE",)), runs=in_both_forms(trained(exit_code=1))
    )
    outcome, _ = certify(image, "TRN-6", tmp_path)
    assert outcome.verdict == FAIL
    assert "AWS_SESSION_TOKEN (19 characters)" in rendered(outcome)
    assert any("depends on TRN-1" in note for note in outcome.notes)


def test_trn6_passes_a_baked_region(tmp_path: Path) -> None:
    image = GoodImage(
        info=image_info(env=("PATH=/opt/program", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"))
    )
    outcome, _ = certify(image, "TRN-6", tmp_path)
    assert outcome.verdict == PASS, outcome.reason


def test_trn7_sigterm_ignored(tmp_path: Path) -> None:
    killed = trained("sigterm", exit_code=137, stop=StopResult(contract.TRAIN_STOP_GRACE_S, 120.2, 137, True))
    outcome, certification = certify(Trains(runs={"sigterm": killed}), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    assert "Training ignored SIGTERM and was killed by SIGKILL" in rendered(outcome)
    assert outcome.measurements == {"train_sigterm_seconds": 120.2}
    assert certification.trainings[-1] == ("sigterm", 0.0)


def test_trn7_skips_when_training_ends_before_sigterm(tmp_path: Path) -> None:
    quick = trained("sigterm", stop=StopResult(contract.TRAIN_STOP_GRACE_S, 0.0, 0, False, already_exited=True))
    outcome, _ = certify(Trains(runs={"sigterm": quick}), "TRN-7", tmp_path)
    assert outcome.verdict == SKIP
    assert "sigterm_hyperparameters" in outcome.reason


def test_trn7_run_that_ends_on_its_own_does_not_pass_when_pid1_drops_sigterm(tmp_path: Path) -> None:
    # The gap a timing rule alone leaves: the run is short, so it "stops" in time though the signal was discarded.
    pid1 = SignalDisposition("sh /opt/program/train", caught=False, ignored=False, waiting="do_wait")
    done = trained("sigterm", stop=StopResult(contract.TRAIN_STOP_GRACE_S, 2.4, 0, False, pid1=pid1))
    outcome, _ = certify(Trains(runs={"sigterm": done}), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "SIGTERM never reached training" in text
    assert "Actual:   PID 1 (sh /opt/program/train) has no handler for SIGTERM, asleep in do_wait; the run" in text


def test_trn7_does_not_guess_when_pid1_cannot_be_seen(tmp_path: Path) -> None:
    pid1 = SignalDisposition("tini -- train", caught=False, ignored=False, waiting=None)
    done = trained("sigterm", stop=StopResult(contract.TRAIN_STOP_GRACE_S, 0.2, 0, False, pid1=pid1))
    outcome, _ = certify(Trains(runs={"sigterm": done}), "TRN-7", tmp_path)
    assert outcome.verdict == PASS


def test_trn7_run_that_ends_before_pid1_ever_takes_sigterm_fails(tmp_path: Path) -> None:
    pid1 = SignalDisposition("/bin/sh /opt/program/train", caught=False, ignored=False, waiting="do_wait")
    done = trained(
        "sigterm", stop=StopResult(contract.TRAIN_STOP_GRACE_S, 0.0, 0, False, already_exited=True, pid1=pid1)
    )
    outcome, _ = certify(Trains(runs={"sigterm": done}), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    assert "PID 1 never took SIGTERM while training ran" in rendered(outcome)


def test_trn7_short_single_program_seen_without_a_handler_is_not_judged(tmp_path: Path) -> None:
    # Its handler may have come (after start-up) and gone (at interpreter exit) between two looks.
    pid1 = SignalDisposition("python3 /opt/program/train", caught=False, ignored=False, waiting="running")
    stop = StopResult(contract.TRAIN_STOP_GRACE_S, 0.0, 0, False, already_exited=True, pid1=pid1)
    outcome, _ = certify(Trains(runs={"sigterm": trained("sigterm", stop=stop)}), "TRN-7", tmp_path)
    assert outcome.verdict == SKIP


def test_trn7_passes_when_pid1_catches_sigterm_and_exits(tmp_path: Path) -> None:
    pid1 = SignalDisposition("python3 /opt/program/train", caught=True, ignored=False)
    stop = StopResult(contract.TRAIN_STOP_GRACE_S, 0.3, 143, False, pid1=pid1)
    stopped = trained("sigterm", exit_code=143, stop=stop)
    outcome, _ = certify(Trains(runs={"sigterm": stopped}), "TRN-7", tmp_path)
    assert outcome.verdict == PASS


def test_trn7_killed_run_names_pid1_in_one_violation(tmp_path: Path) -> None:
    pid1 = SignalDisposition("sh /opt/program/train", caught=False, ignored=True)
    stop = StopResult(contract.TRAIN_STOP_GRACE_S, 120.1, 137, True, pid1=pid1)
    killed = trained("sigterm", exit_code=137, stop=stop)
    outcome, _ = certify(Trains(runs={"sigterm": killed}), "TRN-7", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "PID 1 (sh /opt/program/train) ignores SIGTERM" in text
    assert "SIGTERM never reached" not in text, "one defect, one violation"


def test_trn8_stray_files_break_training_without_a_failure_file(tmp_path: Path) -> None:
    outcome, certification = certify(
        Trains(runs={"stray-files": trained("stray-files", exit_code=1)}), "TRN-8", tmp_path
    )
    assert outcome.verdict == FAIL
    assert "A channel with stray files and nested folders broke training without a clean failure" in rendered(outcome)
    assert (certification.stage / "train-stray-files/input/data/training/_SUCCESS").is_file()


def test_trn8_clean_failure_passes(tmp_path: Path) -> None:
    outcome, _ = certify(Trains(runs={"stray-files": failed("stray-files")}), "TRN-8", tmp_path)
    assert outcome.verdict == PASS


def test_training_checks_skip_for_serve_only_images(tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "td", policy='profile = "serve-only"\n', extra={"model/model.pkl": b"x"})
    outcome, _ = certify(GoodImage(), "TRN-1", tmp_path, test_dir=load_test_dir(root))
    assert outcome.verdict == SKIP
    assert "serve-only" in outcome.reason


# --- SRV ----------------------------------------------------------------------------------------------------------


@dataclass
class LoopbackOnly(GoodImage):
    """Binds 127.0.0.1:8080: nothing answers through the published port."""

    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=False)

    def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
        return (0, PROC_NET_TCP_LOOPBACK) if command[:1] == ["cat"] else super().execute(server, command)


def test_srv1_server_bound_to_loopback(tmp_path: Path) -> None:
    outcome, _ = certify(LoopbackOnly(), "SRV-1", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Nothing answered HTTP on port 8080 from outside the container" in text
    assert "127.0.0.1:8080" in text


@dataclass
class SlowPing(GoodImage):
    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.4)


def test_srv2_slow_ping(tmp_path: Path) -> None:
    outcome, _ = certify(SlowPing(), "SRV-2", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Ping 1 of 20 after start-up failed the health check" in text
    assert "Actual:   200 OK in 2.40 s" in text


@dataclass
class NeverReady(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(self, spec, ready=False, answered=True)


def test_srv2_never_ready(tmp_path: Path) -> None:
    outcome, _ = certify(NeverReady(), "SRV-2", tmp_path)
    assert outcome.verdict == FAIL
    assert "The container did not pass the ping health check" in rendered(outcome)


@dataclass
class WritesIntoModelDir(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return FakeServer(
            self,
            spec,
            ready=False,
            exited=True,
            exit_code=1,
            logs="OSError: [Errno 30] Read-only file system: '/opt/ml/model/cache'\n",
        )


def test_srv3_writes_into_the_read_only_model(tmp_path: Path) -> None:
    outcome, _ = certify(WritesIntoModelDir(), "SRV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert "The server writes into /opt/ml/model, which SageMaker mounts read-only" in rendered(outcome)


@dataclass
class DropsLastRecord(GoodImage):
    """Loses the last record of any body with more than ``keep`` records."""

    keep: int = 1

    def predict(self, table: list[list[float]]) -> bytes:
        return super().predict(table[: self.keep] if len(table) > self.keep else table)


def test_srv4_one_record_out_per_record_in(tmp_path: Path) -> None:
    outcome, _ = certify(DropsLastRecord(), "SRV-4", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The response does not have one record per input record (the test-dir's payload)" in text
    assert "Expected: 3 records (CSV in, counted as CSV out)" in text
    assert "Actual:   1 records" in text
    # The test-dir's payload, without a trailing newline, with CRLF line ends; a single record is fine.
    assert "(3 violations)" in text.splitlines()[0]


def test_srv4_generated_payloads_find_and_shrink_a_record_loss(tmp_path: Path) -> None:
    outcome, _ = certify(
        DropsLastRecord(keep=3), "SRV-4", tmp_path, options=Options(max_examples=10, property_budget=600)
    )
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    # The test-dir's own payload has 3 records and passes; hypothesis shrinks the failure to 4 records.
    assert "(generated: 4 records" in text
    assert "Expected: 4 records" in text


@dataclass
class NoContentType(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        response.content_type = None
        return response


def test_srv4_no_content_type(tmp_path: Path) -> None:
    outcome, _ = certify(NoContentType(), "SRV-4", tmp_path)
    assert outcome.verdict == FAIL
    assert "The response has no Content-Type (the test-dir's payload)" in rendered(outcome)


@dataclass
class WrongPredictions(GoodImage):
    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{row[0]:.4f}\n" for row in table).encode()


def test_srv4_expected_output_compared_in_order(tmp_path: Path) -> None:
    expected = b"10.2000\n14.7000\n19.1000\n"
    policy = 'expected_output = "expected_output.csv"\n'
    root = write_test_dir(tmp_path / "td", policy=policy, extra={"expected_output.csv": expected})
    test_dir = load_test_dir(root)
    good, _ = certify(GoodImage(), "SRV-4", tmp_path / "good", test_dir=test_dir)
    assert good.verdict == PASS, good.failure and good.failure.render()
    bad, _ = certify(WrongPredictions(), "SRV-4", tmp_path / "bad", test_dir=test_dir)
    assert bad.verdict == FAIL
    text = rendered(bad)
    assert "The response's records are not the expected ones, in order (the test-dir's payload)" in text
    assert "Expected: record 1: '10.2000'" in text
    assert "Actual:   record 1: '5.1000'" in text


@dataclass
class StrictMediaType(GoodImage):
    """Compares the whole Content-Type header with text/csv."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type") != contract.CSV:
            return Response(415, b"unsupported", "text/plain")
        return super().invoke(server, body, headers)


def test_srv5_charset_parameter_rejected(tmp_path: Path) -> None:
    outcome, _ = certify(StrictMediaType(), "SRV-5", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "Content-Type 'text/csv; charset=utf-8' is not treated like 'text/csv'" in text
    assert "Actual:   415 Unsupported Media Type" in text


@dataclass
class AnswersUnsupported(GoodImage):
    """Answers any Content-Type it does not know with ``status``."""

    status: int = 200

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if headers.get("content-type", "").split(";")[0] != contract.CSV:
            if self.status == 200:
                return super().invoke(server, body, {"content-type": contract.CSV})
            return Response(self.status, b"Traceback (most recent call last): ...", "text/html")
        return super().invoke(server, body, headers)


@pytest.mark.parametrize(("status", "actual"), [(200, "200 OK"), (500, "500 Internal Server Error")])
def test_srv6_unsupported_content_type_not_rejected(status: int, actual: str, tmp_path: Path) -> None:
    outcome, _ = certify(AnswersUnsupported(status=status), "SRV-6", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("SRV-6 [SHOULD] An unsupported Content-Type gets a 4xx (415 preferred) (2 violations)")
    for media_type in contract.UNSUPPORTED_CONTENT_TYPES:
        assert f"Content-Type '{media_type}' was not rejected as a client error" in text
    assert "Expected: a 4xx, preferably 415 Unsupported Media Type" in text
    assert f"Actual:   {actual}" in text
    assert "curl -sS -i -X POST -H 'Content-Type: image/png' --data-binary @" in text


def test_srv6_400_passes_with_a_note(tmp_path: Path) -> None:
    outcome, _ = certify(AnswersUnsupported(status=400), "SRV-6", tmp_path)
    assert outcome.verdict == PASS
    assert outcome.notes == [
        f"{media_type}: 400 (415 is preferred)" for media_type in contract.UNSUPPORTED_CONTENT_TYPES
    ]


@dataclass
class CrashesOnBadInput(GoodImage):
    """A 500 for anything it cannot parse (an unhandled ValueError)."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        return Response(500, b"Internal Server Error", "text/html") if response.status == 400 else response


def test_srv7_malformed_payload_gets_a_5xx(tmp_path: Path) -> None:
    outcome, _ = certify(CrashesOnBadInput(), "SRV-7", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    for case in ("an empty body", "one field too many", "a non-numeric field", "one field too few"):
        assert f"A malformed payload ({case}) was not rejected as a client error" in text


@dataclass
class CrashesOnInvalidUtf8(GoodImage):
    """Rejects every malformed table but one: a body that is not UTF-8 raises UnicodeDecodeError, a 500."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response(500, b"UnicodeDecodeError", "text/html")
        return super().invoke(server, body, headers)


def test_srv7_generated_malformed_payloads(tmp_path: Path) -> None:
    good, _ = certify(GoodImage(), "SRV-7", tmp_path / "good", options=Options(max_examples=15))
    assert good.verdict == PASS
    fixed_cases_only, _ = certify(CrashesOnInvalidUtf8(), "SRV-7", tmp_path / "off", options=Options(max_examples=0))
    assert fixed_cases_only.verdict == PASS
    generated, _ = certify(CrashesOnInvalidUtf8(), "SRV-7", tmp_path / "on", options=Options(max_examples=25))
    assert generated.verdict == FAIL
    assert "A malformed payload (generated: invalid UTF-8 in record 1 of 1) was not rejected" in rendered(generated)


@dataclass
class DiesOnBadInput(GoodImage):
    """The worker dies on the first bad request, and with it the container."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        response = super().invoke(server, body, headers)
        if response.status >= 400:
            server.alive = False
            server._exit_code = 139
        return response


def test_srv8_container_dies_after_a_bad_request(tmp_path: Path) -> None:
    outcome, _ = certify(DiesOnBadInput(), "SRV-8", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert (
        "The container died after a bad request (Content-Type application/x-sagemaker-conformance-unsupported)" in text
    )
    assert "Actual:   exited with code 139" in text


@dataclass
class WedgedAfterBadInput(GoodImage):
    """Still running, but /ping fails after a bad request (a dead worker that never respawns)."""

    def ping(self, server: FakeServer) -> Response:
        bad = any(r[2] == b"" or r[3].get("Content-Type") != contract.CSV for r in server.requests if r[1] != "/ping")
        return Response(503 if bad else 200, b"", None)


def test_srv8_ping_unhealthy_after_a_bad_request(tmp_path: Path) -> None:
    outcome, _ = certify(WedgedAfterBadInput(), "SRV-8", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping is not healthy right after a bad request" in rendered(outcome)


@dataclass
class OneMegabyteLimit(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(body) > 1024 * 1024:
            return Response(413, b"<html>413 Request Entity Too Large</html>", "text/html")
        return super().invoke(server, body, headers)


def test_srv9_413_from_the_proxy(tmp_path: Path) -> None:
    outcome, _ = certify(OneMegabyteLimit(), "SRV-9", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "A valid payload InvokeEndpoint accepts was refused as too large (413)" in text
    assert "client_max_body_size" in text


@dataclass
class ChokesOnCustomAttributes(GoodImage):
    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if len(headers.get("x-amzn-sagemaker-custom-attributes", "")) > 512:
            return Response(400, b"header too long", "text/plain")
        return super().invoke(server, body, headers)


def test_srv10_sagemaker_headers_change_the_response(tmp_path: Path) -> None:
    outcome, _ = certify(ChokesOnCustomAttributes(), "SRV-10", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The headers SageMaker adds changed the response" in text
    assert "Actual:   400 Bad Request" in text


@dataclass
class IgnoresSigterm(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        server._stop = StopResult(contract.SERVE_STOP_GRACE_S, 30.3, 137, True)
        return server


def test_srv11_sigterm_ignored(tmp_path: Path) -> None:
    outcome, certification = certify(IgnoresSigterm(), "SRV-11", tmp_path)
    assert outcome.verdict == FAIL
    assert "The server ignored SIGTERM and was killed by SIGKILL after 30 s" in rendered(outcome)
    assert outcome.measurements == {"serve_sigterm_seconds": 30.3}
    assert certification.current("sigterm") is None, "the stopped container must be discarded"


@dataclass
class HealthyWithoutModel(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        return super().serve(replace(spec, model="trained"))


def test_srv12_ping_200_without_a_model(tmp_path: Path) -> None:
    outcome, _ = certify(HealthyWithoutModel(), "SRV-12", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping answered 200 with an empty /opt/ml/model" in rendered(outcome)


@dataclass
class PingBlockedByInvocations(GoodImage):
    """A single-threaded server: /ping waits behind the invocations in flight."""

    def ping(self, server: FakeServer) -> Response:
        return Response(200, b"", None, elapsed=2.5 if server.in_flight else 0.001)

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        time.sleep(0.02)
        return super().invoke(server, body, headers)


def test_srv13_ping_slow_under_load(tmp_path: Path) -> None:
    outcome, _ = certify(PingBlockedByInvocations(), "SRV-13", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert f"/ping failed while {serving.CONCURRENCY} invocations" in text
    assert "Actual:   200 OK in 2.50 s" in text


@dataclass
class NeedsEgress(GoodImage):
    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.isolated:
            return FakeServer(
                self, spec, ready=False, exited=True, exit_code=1, logs="ConnectionError: huggingface.co\n"
            )
        return super().serve(spec)


def test_srv14_needs_egress_at_start_up(tmp_path: Path) -> None:
    outcome, _ = certify(NeedsEgress(), "SRV-14", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "The server did not become healthy without network egress" in text
    assert "huggingface.co" in text


def test_srv14_is_judged_on_a_remote_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe container asks from inside the network: where the engine runs does not matter.
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    outcome, _ = certify(GoodImage(), "SRV-14", tmp_path)
    assert outcome.verdict == PASS


@dataclass
class Nondeterministic(GoodImage):
    def predict(self, table: list[list[float]]) -> bytes:
        return "".join(f"{random.random():.6f}\n" for _ in table).encode()


def test_srv15_same_payload_twice_differs(tmp_path: Path) -> None:
    outcome, _ = certify(Nondeterministic(), "SRV-15", tmp_path)
    assert outcome.verdict == FAIL
    assert "Two identical invocations gave different answers" in rendered(outcome)


def test_serving_checks_skip_for_train_only_images(tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "td", policy='profile = "train-only"\n', payload=None)
    outcome, _ = certify(GoodImage(), "SRV-4", tmp_path, test_dir=load_test_dir(root))
    assert outcome.verdict == SKIP
    assert "train-only" in outcome.reason


def test_serving_checks_depend_on_srv2(tmp_path: Path) -> None:
    outcome, _ = certify(NeverReady(), "SRV-4", tmp_path)
    assert outcome.verdict == SKIP
    assert outcome.reason.startswith("depends on SRV-2")


# --- ENV ----------------------------------------------------------------------------------------------------------


@dataclass
class RecordedProcessTable(GoodImage):
    """Serves with a process table recorded from a real container, whatever the environment says."""

    table: tuple[Process, ...] = ()
    nginx: str | None = None

    def serve(self, spec: ServeSpec) -> FakeServer:
        files = {"/opt/program/nginx.conf": self.nginx.encode()} if self.nginx is not None else {}
        return FakeServer(self, spec, processes=self.table, files=files)


GUNICORN_60 = "/usr/bin/python3 /usr/local/bin/gunicorn --timeout 60 -k sync -b unix:/tmp/gunicorn.sock -w 2 wsgi:app"
# `docker top -eo pid,ppid,args` of an image that hard-codes two workers and a 60 s timeout.
HARD_CODED = (
    Process(1, 0, "/usr/bin/python3 /opt/program/serve"),
    Process(12, 1, "nginx: master process nginx -c /opt/program/nginx.conf"),
    Process(13, 1, GUNICORN_60),
    Process(14, 12, "nginx: worker process"),
    Process(15, 13, GUNICORN_60),
    Process(16, 13, GUNICORN_60),
)
NGINX_30S = """
events {}
http {
  server {
    listen 8080;
    location ~ ^/(ping|invocations) {
      proxy_pass http://unix:/tmp/gunicorn.sock:/;
      proxy_read_timeout 30s;
    }
  }
}
"""


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


def test_env3_gunicorn_replaces_frozen_workers_near_t(tmp_path: Path) -> None:
    outcome, certification = certify(GoodImage(), "ENV-3", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome)
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # T = 10, the arbiter's second, a fresh worker
    assert outcome.measurements["configured_timeout_seconds"] == 10.0
    assert certification.servers["env-timeout"].spec.env == {"MODEL_SERVER_TIMEOUT": "10"}


def test_env3_server_keeps_its_own_60s_timeout(tmp_path: Path) -> None:
    outcome, _ = certify(RecordedProcessTable(table=HARD_CODED), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 did not cut off a request to frozen workers: still open after 18.0 s" in text
    assert "Expected: a 5xx, a closed connection, or an answer from a replacement worker between 9 and 18 s" in text
    assert "Actual:   no answer within 18 s (the command line says --timeout 60)" in text
    assert "PIDs 15, 16 (children of the model server's master); afterwards, frozen workers gone: none; fresh" in text
    assert "kill -STOP 15 16" in text


@dataclass
class TimeoutOnlyOnTheCommandLine(RecordedProcessTable):
    """`--timeout 10` on the master's command line, which nothing enforces (a home-made pre-fork server)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(200, b"", "text/csv", elapsed=3600.0)


def test_env3_a_command_line_timeout_that_cuts_nothing_fails(tmp_path: Path) -> None:
    serve = "/usr/bin/python3 /opt/program/prefork.py --timeout 10 --workers 2"
    table = (Process(1, 0, "/usr/bin/python3 /opt/program/serve"), Process(7, 1, serve), Process(8, 7, serve))
    outcome, _ = certify(TimeoutOnlyOnTheCommandLine(table=(*table, Process(9, 7, serve))), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "did not cut off a request to frozen workers" in text
    assert "(the command line says --timeout 10)" in text


@dataclass
class GivesUpAtOnce(GoodImage):
    """Answers 503 as soon as no worker is free, whatever the timeout."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return Response(503, b"no worker available", "text/plain", elapsed=0.01)


def test_env3_a_cut_before_t_fails(tmp_path: Path) -> None:
    outcome, _ = certify(GivesUpAtOnce(), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 was not the timeout: the server gave up on frozen workers after 0.0 s" in text
    assert "Actual:   503 Service Unavailable after 0.0 s; workers replaced: none" in text


@dataclass
class ReplacesWorkersAfter5s(RecordedProcessTable):
    """A supervisor that replaces silent workers after 5 s whatever the variable says."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.replace_processes(set(server.frozen))
        return replace(self.invoke(server, body, headers), elapsed=6.5)


def test_env3_a_hard_coded_shorter_timeout_fails(tmp_path: Path) -> None:
    table = tuple(Process(p.pid, p.ppid, p.args.replace("--timeout 60", "--timeout 5")) for p in HARD_CODED)
    outcome, _ = certify(ReplacesWorkersAfter5s(table=table), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert "MODEL_SERVER_TIMEOUT=10 was not the timeout: the server replaced its frozen workers after 6.5 s" in text
    assert "Actual:   200 OK from a fresh worker; the command line says --timeout 5" in text


SPAWNED = "/usr/local/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main() --multiprocessing-fork"
UVICORN_WORKERS = (
    Process(1, 0, "/usr/local/bin/python /usr/local/bin/uvicorn main:app --port 8080 --workers 2"),
    Process(7, 1, "/usr/local/bin/python -c from multiprocessing.resource_tracker import main;main(4)"),
    Process(8, 1, SPAWNED),
    Process(9, 1, SPAWNED),
)


def test_env3_skips_when_a_health_check_replaces_the_workers_first(tmp_path: Path) -> None:
    outcome, _ = certify(ReplacesWorkersAfter5s(table=UVICORN_WORKERS), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "the server replaced its frozen workers after 6.5 s, before MODEL_SERVER_TIMEOUT=10" in outcome.reason


def test_env3_keeps_nginx_evidence_when_the_behaviour_cannot_be_judged(tmp_path: Path) -> None:
    table = (*UVICORN_WORKERS, HARD_CODED[1], HARD_CODED[3])  # nginx in front, with a fixed 30 s
    outcome, _ = certify(ReplacesWorkersAfter5s(table=table, nginx=NGINX_30S), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert outcome.failure is not None
    assert len(outcome.failure.violations) == 1
    assert "nginx would cut /invocations off after 30 s" in rendered(outcome)
    assert outcome.notes[-1].startswith("The timeout's behaviour was not judged: the server replaced")


@dataclass
class SlowFreshWorker(RecordedProcessTable):
    """Replaces its frozen workers at once, then takes a while to answer from the fresh one (a slow model load)."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        server.replace_processes(set(server.frozen))
        time.sleep(3 * timeouts.WATCH_INTERVAL_S)
        return replace(self.invoke(server, body, headers), elapsed=10.5)


def test_env3_times_the_replacement_not_the_fresh_workers_answer(tmp_path: Path) -> None:
    outcome, _ = certify(SlowFreshWorker(table=UVICORN_WORKERS), "ENV-3", tmp_path)
    # Answered in T's window, but the workers were replaced within the first looks: uvicorn's own limit decided.
    assert outcome.verdict == SKIP
    assert outcome.measurements["frozen_request_seconds"] == 10.5
    assert outcome.measurements["workers_replaced_seconds"] < 2 * timeouts.WATCH_INTERVAL_S + 0.5


@dataclass
class SlowProcessTable(GoodImage):
    """Reading the process table takes ``read_s`` (a docker exec on a loaded engine); the workers are replaced
    while the first watching read is under way, and the answer comes a little later."""

    read_s: float = 0.6

    def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
        if command[:2] == ["sh", "-c"] and command[2] == procs.PROC_TABLE_SCRIPT and server.frozen:
            time.sleep(self.read_s / 2)
            if getattr(self, "invoked", False):
                server.replace_processes(set(server.frozen))
            time.sleep(self.read_s / 2)
        return super().execute(server, command)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        self.invoked = True
        time.sleep(4 * self.read_s)
        return replace(self.invoke(server, body, headers), elapsed=10.2)


def test_env3_times_a_replacement_by_when_the_table_was_read_not_asked_for(tmp_path: Path) -> None:
    """A replacement counts from when the reading that showed it came back: on a loaded engine the exec takes a
    second or more, and timing it from the asking made an MMS replacement at T look like one before T."""
    image = SlowProcessTable()
    outcome, _ = certify(image, "ENV-3", tmp_path)
    replaced = outcome.measurements["workers_replaced_seconds"]
    # Seen by the first watching read at the earliest, asked for after one watch interval: it returns a whole
    # read later.
    assert replaced >= timeouts.WATCH_INTERVAL_S + image.read_s


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


@dataclass
class ModelRunsElsewhere(GoodImage):
    """A process ENV-3 does not freeze answers at once."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        return self.invoke(server, body, headers)


def test_env3_skips_when_an_unfrozen_process_answers(tmp_path: Path) -> None:
    outcome, _ = certify(ModelRunsElsewhere(), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "another process runs it, and ENV-3 cannot freeze it" in outcome.reason


@dataclass
class StaysBrokenAfterTheFreeze(GoodImage):
    """Replaces its frozen workers in time, but the replacements never serve again."""

    def ping(self, server: FakeServer) -> Response:
        return Response(200 if not any(p.pid > 1000 for p in server.processes()) else 503, b"", None)


def test_env3_the_server_must_recover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeouts, "RECOVERY_S", 0.0)
    outcome, _ = certify(StaysBrokenAfterTheFreeze(), "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    assert "/ping did not answer 200 within 0 s after the workers resumed" in rendered(outcome)


def test_env3_nginx_cuts_invocations_off_at_30s(tmp_path: Path) -> None:
    table = [p if "gunicorn" not in p.args else Process(p.pid, p.ppid, p.args.replace("60", "10")) for p in HARD_CODED]
    image = RecordedProcessTable(table=tuple(table), nginx=NGINX_30S)
    outcome, _ = certify(image, "ENV-3", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-3 [MUST]")
    assert outcome.failure is not None
    assert len(outcome.failure.violations) == 1, "the frozen workers are replaced near T"
    assert "nginx would cut /invocations off after 30 s, before the model server's 97 s" in text
    assert "Actual:   30 s (location ~ ^/(ping|invocations) of /opt/program/nginx.conf)" in text
    assert outcome.measurements["nginx_read_timeout_seconds"] == 30.0


def test_env3_reads_the_config_file_when_nginx_t_fails(tmp_path: Path) -> None:
    @dataclass
    class NoNginxBinaryInPath(RecordedProcessTable):
        def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
            if command[:1] == ["nginx"]:
                return 127, "exec: nginx: not found"
            return super().execute(server, command)

    image = NoNginxBinaryInPath(table=HARD_CODED, nginx=NGINX_30S.replace("30s", "600s"))
    outcome, _ = certify(image, "ENV-3", tmp_path)
    # Only the server's own 60 s timeout is wrong; nginx's 600 s, read from the file, is fine.
    assert outcome.verdict == FAIL
    assert "nginx would cut" not in rendered(outcome)
    assert outcome.measurements["nginx_read_timeout_seconds"] == 600.0


def test_env3_skips_when_nothing_is_observable(tmp_path: Path) -> None:
    table = (Process(1, 0, "python /opt/program/serve.py"),)
    outcome, _ = certify(RecordedProcessTable(table=table), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "no process that runs the model is visible" in outcome.reason


def test_env3_skips_without_a_shell(tmp_path: Path) -> None:
    @dataclass
    class Distroless(GoodImage):
        def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
            if command[:1] == ["sh"]:
                return 127, 'exec: "sh": executable file not found in $PATH'
            return super().execute(server, command)

    outcome, _ = certify(Distroless(), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP
    assert "no sh" in outcome.reason


@dataclass
class BadExecutionParameters(GoodImage):
    document: bytes = b'{"MaxConcurrentTransforms": 0, "BatchStrategy": "ALL", "MaxPayloadInMB": 200}'

    def execution_parameters(self, server: FakeServer) -> Response:
        return Response(200, self.document, "application/json")


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


@dataclass
class ClaimsBindToPort(GoodImage):
    honours: bool = True
    info: ImageInfo = field(default_factory=lambda: image_info(labels={contract.BIND_TO_PORT_LABEL: "true"}))

    def serve(self, spec: ServeSpec) -> FakeServer:
        if spec.port != contract.PORT and not self.honours:
            return FakeServer(self, spec, ready=False, answered=False)
        return super().serve(spec)


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


# --- the runner ---------------------------------------------------------------------------------------------------


@dataclass
class BrokenFake(GoodImage):
    def handle(self, server: FakeServer, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        raise KeyError("boom")


def test_a_crashing_check_is_a_harness_error_not_a_verdict(tmp_path: Path) -> None:
    outcome, _ = certify(BrokenFake(), "SRV-15", tmp_path)
    assert outcome.verdict == ERROR
    text = rendered(outcome)
    assert "The check for SRV-15 raised an unexpected error (a harness bug, not a verdict on the image)" in text
    assert "Actual:   KeyError: 'boom'" in text
    assert "Traceback:" in text


@pytest.mark.parametrize("clause_id", ALL_IDS)
def test_every_failure_names_its_clause_and_level(clause_id: str, tmp_path: Path) -> None:
    """The broken images above fail each clause; the headline always starts with ID and level."""
    image = BROKEN[clause_id]
    policy = BROKEN_POLICIES.get(clause_id)
    if clause_id in ("ENV-8", "ENV-9"):
        test_dir = serverless_test_dir(tmp_path / "test-dir")
    else:
        test_dir = load_test_dir(write_test_dir(tmp_path / "test-dir", policy=policy)) if policy else None
    outcome, _ = certify(image, clause_id, tmp_path, test_dir=test_dir)
    assert outcome.verdict == FAIL, f"{clause_id}: {outcome.verdict} {outcome.reason}"
    clause = outcome.clause
    assert rendered(outcome).startswith(f"{clause.id} [{clause.level.value}] {clause.title}")
    assert outcome.failure is not None
    assert outcome.reason == outcome.failure.headline


BROKEN_POLICIES = {
    "TRN-11": '[train]\nmetric_definitions = [{ Name = "loss", Regex = "train:loss=([0-9.]+);" }]\n',
    "TRN-12": "[train]\nmulti_host = true\n",
    "TRN-13": '[train]\nresume_log = "resumed"\n',
}
"""Policies the broken images need: a conditional clause is judged only when the capability is declared."""

BROKEN: dict[str, FakeImage] = {
    "IMG-1": GoodImage(executables=frozenset()),
    "IMG-2": GoodImage(info=image_info(architecture="arm64")),
    "IMG-3": GoodImage(baked={contract.OUTPUT_DIR: ["/opt/ml/output/data/x"]}),
    "TRN-1": Trains(runs=in_both_forms(trained(exit_code=1))),
    "TRN-2": ReadsHyperparameters(refuse=lambda hp: "_tuning_objective_metric" in hp),
    "TRN-3": Trains(runs={"minimal-config": trained("minimal-config", exit_code=1)}),
    "TRN-4": Trains(runs={"empty-channel": trained("empty-channel")}),
    "TRN-5": Trains(runs={"empty-channel": failed(failure=None)}),
    "TRN-6": Trains(runs={"isolated": trained("isolated", exit_code=1)}),
    "TRN-7": Trains(runs={"sigterm": trained("sigterm", stop=StopResult(120, 120.1, 137, True))}),
    "TRN-8": Trains(runs={"stray-files": trained("stray-files", exit_code=1)}),
    "TRN-9": Trains(runs={"extra-config-files": failed("extra-config-files")}),
    "TRN-10": Trains(runs={"second-host-alone": trained("second-host-alone", exit_code=None, timed_out=True)}),
    "TRN-11": Trains(runs={"default": trained(logs="train:loss=\t0.5;\n")}),
    "TRN-12": Trains(runs={"two-hosts-algo-2": trained("two-hosts-algo-2", exit_code=1)}),
    "TRN-13": Trains(runs={"checkpoint-stopped": trained("checkpoint-stopped", exit_code=0)}),
    "SRV-1": LoopbackOnly(),
    "SRV-2": SlowPing(),
    "SRV-3": WritesIntoModelDir(),
    "SRV-4": DropsLastRecord(),
    "SRV-5": StrictMediaType(),
    "SRV-6": AnswersUnsupported(status=500),
    "SRV-7": CrashesOnBadInput(),
    "SRV-8": DiesOnBadInput(),
    "SRV-9": OneMegabyteLimit(),
    "SRV-10": ChokesOnCustomAttributes(),
    "SRV-11": IgnoresSigterm(),
    "SRV-12": HealthyWithoutModel(),
    "SRV-13": PingBlockedByInvocations(),
    "SRV-14": NeedsEgress(),
    "SRV-15": Nondeterministic(),
    "SRV-16": CapsRecords(),
    "SRV-17": LabelsHtml(),
    "SRV-18": IgnoresAccept(),
    "SRV-19": PadsAnswers(),
    "ENV-1": RecordedProcessTable(table=HARD_CODED),
    "ENV-2": RecordedProcessTable(table=HARD_CODED[:5]),
    "ENV-3": RecordedProcessTable(table=HARD_CODED),
    "ENV-4": BadExecutionParameters(),
    "ENV-5": ClaimsBindToPort(honours=False),
    "ENV-6": SharesPorts(fixed_port=8000),
    "ENV-7": MultiModel(duplicate_status=200),
    "ENV-8": Serverless(peak_mb=1500),
    "IMG-4": GoodImage(info=image_info(user="1000")),
    "ENV-9": WritesOutsideTmp(),
}


def test_every_clause_has_a_broken_image() -> None:
    assert sorted(BROKEN) == sorted(ALL_IDS)


# --- images that need a CSV header row (policy csv_header = true) -------------------------------------------------

HEADER = b"sepal_length,sepal_width,petal_length,petal_width\n"


@dataclass
class NeedsHeader(GoodImage):
    """Reads the body with a header row, as pandas.read_csv does by default: one header, then numbers."""

    def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        first, _, rest = body.partition(b"\n")
        if first.strip() + b"\n" != HEADER:
            return Response(400, b"expected the header row first", "text/plain")
        return super().invoke(server, rest, headers)


@pytest.fixture
def header_test_dir(tmp_path: Path) -> TestDir:
    root = write_test_dir(tmp_path / "td", policy="csv_header = true\n", payload=HEADER + PAYLOAD)
    return load_test_dir(root)


@pytest.mark.parametrize("clause_id", ["SRV-3", "SRV-4", "SRV-5", "SRV-10", "SRV-15"])
def test_an_image_that_needs_a_header_row_passes(clause_id: str, header_test_dir: TestDir, tmp_path: Path) -> None:
    outcome, _ = certify(NeedsHeader(), clause_id, tmp_path, test_dir=header_test_dir)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


@pytest.mark.parametrize("clause_id", ["SRV-4", "SRV-7", "SRV-8"])
def test_generated_payloads_keep_the_header_row(clause_id: str, header_test_dir: TestDir, tmp_path: Path) -> None:
    """Generated bodies for a csv_header image start with its header row, once: a correct image passes them."""
    options = Options(max_examples=10)
    outcome, certification = certify(NeedsHeader(), clause_id, tmp_path, test_dir=header_test_dir, options=options)
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    bodies = [r[2] for r in certification.servers["default"].requests if r[1] == contract.INVOCATIONS_PATH and r[2]]
    assert len(bodies) > 10, "the generated payloads were sent"
    assert all(body.startswith(HEADER.strip()) and body.count(HEADER.strip()) == 1 for body in bodies)


def test_srv4_notes_that_the_image_needs_a_header_row(header_test_dir: TestDir, tmp_path: Path) -> None:
    outcome, _ = certify(NeedsHeader(), "SRV-4", tmp_path, test_dir=header_test_dir)
    assert any("header row" in note and "batch transform" in note for note in outcome.notes)


def test_srv9_large_payload_keeps_a_single_header_row(header_test_dir: TestDir, tmp_path: Path) -> None:
    """SRV-9's 6 MB body for a csv_header image must be one header row and valid records, not the header repeated
    every few records (which any header-reading image rejects: a false failure)."""
    outcome, certification = certify(NeedsHeader(), "SRV-9", tmp_path, test_dir=header_test_dir)
    body = next(r[2] for r in certification.servers["default-2"].requests if len(r[2]) > 1_000_000)
    headers = body.count(HEADER.strip())
    assert headers == 1, f"the header row appears {headers} times in the {len(body):,}-byte body"
    assert outcome.verdict == PASS, rendered(outcome)


def test_srv13_load_keeps_a_single_header_row(header_test_dir: TestDir, tmp_path: Path) -> None:
    outcome, certification = certify(NeedsHeader(), "SRV-13", tmp_path, test_dir=header_test_dir)
    body = next(r[2] for r in certification.servers["default-2"].requests if len(r[2]) > 100_000)
    headers = body.count(HEADER.strip())
    assert headers == 1, f"the header row appears {headers} times in the {len(body):,}-byte body"
    assert outcome.verdict == PASS, rendered(outcome)


@pytest.mark.parametrize("clause_id", [c for c in ALL_IDS if c.startswith(("SRV-", "ENV-"))])
def test_a_train_only_image_skips_every_serving_clause(clause_id: str, tmp_path: Path) -> None:
    # AWS's training toolkit images serve nothing: no serving clause may crash on the missing payload.
    root = write_test_dir(tmp_path / "test-dir", policy='profile = "train-only"\n', payload=None)
    outcome, _ = certify(GoodImage(), clause_id, tmp_path, test_dir=load_test_dir(root))
    assert outcome.verdict == SKIP, outcome.failure.render() if outcome.failure else outcome.reason


@pytest.mark.parametrize("clause_id", [c for c in ALL_IDS if c.startswith("TRN-")])
def test_a_serve_only_image_skips_every_training_clause(clause_id: str, tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "test-dir", policy='profile = "serve-only"\n', extra={"model/model.bin": b"m"})
    outcome, _ = certify(GoodImage(), clause_id, tmp_path, test_dir=load_test_dir(root))
    assert outcome.verdict == SKIP, outcome.failure.render() if outcome.failure else outcome.reason


@dataclass
class LateWorker(GoodImage):
    """gunicorn on a busy machine: one worker is still booting when ENV-3 first reads the process table; left
    running, it would answer the request to the frozen workers at once."""

    def __post_init__(self) -> None:
        self.readings = 0

    def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
        if command[:2] == ["sh", "-c"] and command[2] == procs.PROC_TABLE_SCRIPT and server.spec.name == "env-timeout":
            self.readings += 1
            if self.readings == 1:
                workers = procs.count_workers(server.processes()).workers
                return 0, proc_dump([p for p in server.processes() if p.pid != workers[-1].pid])
        return super().execute(server, command)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        running = [w for w in procs.count_workers(server.processes()).workers if w.pid not in server.frozen]
        if running:
            return replace(self.invoke(server, body, headers), elapsed=0.05)
        return super().frozen_invoke(server, body, headers)


def test_env3_freezes_a_worker_that_was_still_booting(tmp_path: Path) -> None:
    outcome, certification = certify(LateWorker(), "ENV-3", tmp_path)
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


@dataclass
class SlowBootingWorker(GoodImage):
    """gunicorn on a loaded machine: the last worker forks some seconds after ENV-3 froze the others (too late for
    the looks right after the freeze), and answers the request at once; the frozen workers are all still there."""

    def __post_init__(self) -> None:
        self.late: Process | None = None

    def serve(self, spec: ServeSpec) -> FakeServer:
        server = super().serve(spec)
        if spec.name == "env-timeout":
            self.late = procs.count_workers(server.processes()).workers[-1]
            server._processes = [p for p in server.processes() if p.pid != self.late.pid]
        return server

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.late is not None:  # it boots now, not frozen, and takes the request
            server._processes.append(self.late)
            self.late = None
            return replace(self.invoke(server, body, headers), elapsed=2.9)
        return super().frozen_invoke(server, body, headers)


def test_env3_freezes_again_when_a_worker_boots_after_the_freeze(tmp_path: Path) -> None:
    outcome, certification = certify(SlowBootingWorker(), "ENV-3", tmp_path)
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # the second request, held by the freeze
    assert any("booted after the freeze" in note for note in outcome.notes)
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


@dataclass
class LateWorkerBesideTheFrozenRequest(SlowBootingWorker):
    """MMS on a loaded machine: a worker boots seconds after ENV-3 froze the others and shows in the process table,
    but the request stays with the frozen workers and ends only at the server's timeout (200 after 11.9 s), every
    frozen worker still there. The worker that appeared early was no replacement: it did not decide the request."""

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        if self.late is not None:
            server._processes.append(self.late)
            self.late = None
            time.sleep(3 * timeouts.WATCH_INTERVAL_S)  # the watch sees it while the request is open
            return replace(self.invoke(server, body, headers), elapsed=11.9)
        return super().frozen_invoke(server, body, headers)


def test_env3_freezes_again_when_a_late_worker_appears_but_the_request_waits_for_the_timeout(tmp_path: Path) -> None:
    """CI saw MMS's ENV-3 skipped as "replaced its frozen workers after 8.7 s" while its request ended at 11.9 s:
    a worker that booted late was taken for an early replacement."""
    outcome, certification = certify(LateWorkerBesideTheFrozenRequest(), "ENV-3", tmp_path)
    assert outcome.verdict == "pass", outcome.reason
    assert outcome.measurements["frozen_request_seconds"] == 12.0  # the second request, every worker frozen
    assert any("booted after the freeze" in note for note in outcome.notes)
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


@dataclass
class GunicornOnABusyEngine(GoodImage):
    """gunicorn on a busy engine: each `docker exec` takes ``exec_s`` while ``busy_tries`` last, so ENV-3's request
    leaves seconds after the freeze; the arbiter counts a worker's silence from its last heartbeat, at the freeze,
    so by the request's clock the cut comes that much earlier than T + 2 s."""

    exec_s: float = 1.6
    busy_tries: int = 1

    def __post_init__(self) -> None:
        self.stop_asked: float | None = None
        self.tries = 0

    def execute(self, server: FakeServer, command: list[str]) -> tuple[int, str]:
        stopping = command[:2] == ["sh", "-c"] and command[2].startswith("kill -STOP")
        if stopping and self.stop_asked is None:
            self.stop_asked, self.tries = time.monotonic(), self.tries + 1
        if command[:2] == ["sh", "-c"] and command[2].startswith("kill -CONT"):
            self.stop_asked = None
        if self.tries <= self.busy_tries and (stopping or (server.frozen and command[2] == procs.PROC_TABLE_SCRIPT)):
            time.sleep(self.exec_s)
        return super().execute(server, command)

    def frozen_invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
        answer = super().frozen_invoke(server, body, headers)
        assert self.stop_asked is not None
        return replace(answer, elapsed=answer.elapsed - (time.monotonic() - self.stop_asked))


def test_env3_times_again_when_a_busy_engine_delays_the_request_past_the_freeze(tmp_path: Path) -> None:
    """CI at a load average over 10: gunicorn replaced its frozen workers at T by the freeze's clock, and ENV-3,
    whose request left 4 s after the freeze, skipped it as "replaced after 5.9 s, before T could act"."""
    outcome, _ = certify(GunicornOnABusyEngine(), "ENV-3", tmp_path)
    assert outcome.verdict == PASS, rendered(outcome) if outcome.failure else outcome.reason
    assert any("froze the workers again" in note and "after the freeze" in note for note in outcome.notes)
    assert outcome.measurements["freeze_to_request_seconds"] < 1.0  # the second try, on a quiet engine


def test_env3_is_not_judged_when_the_engine_stays_too_busy_to_time_it(tmp_path: Path) -> None:
    outcome, certification = certify(GunicornOnABusyEngine(busy_tries=2), "ENV-3", tmp_path)
    assert outcome.verdict == SKIP, rendered(outcome) if outcome.failure else outcome.reason
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly (load average ")
    assert "depends on which one the server counts from" in outcome.reason
    assert not certification.servers["env-timeout"].frozen, "the workers were resumed"


@pytest.mark.parametrize(
    ("moment", "lead", "unfair"),
    [(8.0, 0.5, False), (8.0, 1.5, True), (5.9, 4.1, True), (3.0, 4.0, False), (9.5, 3.0, False)],
)
def test_env3_an_early_decision_is_unfair_only_when_the_freezes_clock_disagrees(
    moment: float, lead: float, unfair: bool
) -> None:
    assert timeouts._unfair(moment, lead, 10.0) is unfair
