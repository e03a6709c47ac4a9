"""TRN clauses on scripted fake images: each broken image breaks one behaviour, and the test asserts the
verdict and the violation text, as a user would read it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import contract
from conformance.pid1 import SignalDisposition, StopResult
from conformance.runner import FAIL, PASS, SKIP, WARN
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, failed, image_info, trained, write_test_dir
from .fakeimages import ReadsHyperparameters, Trains, in_both_forms
from .faketarget import certify, rendered

# --- TRN ----------------------------------------------------------------------------------------------------------


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
    assert outcome.measurements == {"train_sigterm_seconds": 120.2, "trn7_load_average": 0.5}
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
