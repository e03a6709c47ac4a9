"""IMG clauses on scripted fake images: each broken image breaks one behaviour, and the test asserts the
verdict and the violation text, as a user would read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import contract
from conformance.context import Options
from conformance.runner import FAIL, PASS
from conformance.testdir import load as load_test_dir

from .checkfakes import GoodImage, image_info, write_test_dir
from .faketarget import certify, rendered

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
    # "Reproduce with" is the target's: the fake renders its own commands, the check writes no engine's.
    assert "fake-engine inspect example.com/team/model:1.0 os/architecture" in text
    assert "fake-engine build --platform linux/amd64  # rebuild for SageMaker" in text
    assert "docker image" not in text
    assert "docker buildx" not in text


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
    assert "fake-engine run example.com/team/model:1.0 ls -laR /opt/ml/model" in text


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
    assert "fake-engine inspect example.com/team/model:1.0 env" in text


@pytest.mark.parametrize("name", ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])
def test_trn6_session_tokens_are_credentials(name: str, tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(info=image_info(env=(f"{name}=FwoGZXIvYXdzEXAMPLE",))), "TRN-6", tmp_path)
    assert outcome.verdict == FAIL


def test_trn6_region_profile_and_empty_values_pass(tmp_path: Path) -> None:
    env = ("AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1", "AWS_PROFILE=default", "AWS_ACCESS_KEY_ID=")
    outcome, _ = certify(GoodImage(info=image_info(env=env)), "TRN-6", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
