"""reference_images/text_generation without Docker: its training entry point on the test-dir's corpus, the model it
writes, and the folder a user copies (tests/docker runs the built image; the harness certifies it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "reference_images" / "text_generation"
PROGRAM = FOLDER / "program"
TEST_DIR = ROOT / "test-dirs" / "text_generation"


def train(opt_ml: Path, hyperparameters: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if hyperparameters is not None:
        (opt_ml / "input" / "config").mkdir(parents=True, exist_ok=True)
        (opt_ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    env = {**os.environ, "SMC_OPT_ML": str(opt_ml), "PYTHONPATH": str(PROGRAM), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, str(PROGRAM / "train")], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def opt_ml(tmp_path: Path) -> Path:
    shutil.copytree(TEST_DIR / "input", tmp_path / "input")
    return tmp_path


def load_model(opt_ml: Path):  # type: ignore[no-untyped-def]
    # No __pycache__ left in the image's folder: it is copied into the image as it is.
    sys.path.insert(0, str(PROGRAM))
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import textgen
    finally:
        sys.path.remove(str(PROGRAM))
        sys.dont_write_bytecode = writes
    return textgen, textgen.Model.load(opt_ml / "model" / textgen.MODEL_FILENAME)


def test_train_writes_the_model_and_reports_its_metric(opt_ml: Path) -> None:
    run = train(opt_ml)
    assert run.returncode == 0, run.stderr
    assert not (opt_ml / "output" / "failure").exists()
    assert "train:tokens=" in run.stderr
    textgen, model = load_model(opt_ml)
    assert abs(sum(model.weights) - 1) < 1e-9
    assert list((opt_ml / "model").iterdir()) == [opt_ml / "model" / textgen.MODEL_FILENAME]


def test_generation_is_greedy_and_its_pieces_are_the_text(opt_ml: Path) -> None:
    assert train(opt_ml).returncode == 0
    _, model = load_model(opt_ml)
    pieces = list(model.generate("once upon a time", 12))
    assert len(pieces) == 12
    assert pieces == list(model.generate("Once upon a TIME", 12)), "deterministic, whatever the case"
    assert not pieces[0].startswith(" ")
    assert all(p.startswith(" ") or p in ".,;:!?" for p in pieces[1:]), (
        "a space before each word, none before punctuation"
    )


def test_no_trigram_is_generated_twice(opt_ml: Path) -> None:
    assert train(opt_ml).returncode == 0
    textgen, model = load_model(opt_ml)
    words = textgen.tokenize("".join(model.generate("the", 60)))
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    assert len(trigrams) == len(set(trigrams))


def test_an_empty_channel_fails_with_its_cause(tmp_path: Path) -> None:
    (tmp_path / "input" / "data" / "training").mkdir(parents=True)
    (tmp_path / "input" / "data" / "training" / "_SUCCESS").write_text("")
    run = train(tmp_path)
    assert run.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert "holds no text" in failure
    assert "_SUCCESS" in failure


def test_a_bad_hyperparameter_fails_naming_it(opt_ml: Path) -> None:
    run = train(opt_ml, {"em_iterations": "many"})
    assert run.returncode == 1
    assert "em_iterations='many'" in (opt_ml / "output" / "failure").read_text()


def test_unknown_hyperparameters_are_tolerated(opt_ml: Path) -> None:
    run = train(opt_ml, {"sagemaker_program": '"x"', "_tuning_objective_metric": "loss", "em_iterations": '"3"'})
    assert run.returncode == 0, run.stderr


def test_sigterm_stops_a_long_fit_with_a_failure_file(opt_ml: Path) -> None:
    (opt_ml / "input" / "config").mkdir(parents=True, exist_ok=True)
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"em_iterations": "100000000", "tolerance": "0"})
    )
    env = {**os.environ, "SMC_OPT_ML": str(opt_ml), "PYTHONPATH": str(PROGRAM), "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen([sys.executable, str(PROGRAM / "train")], env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # wait for the fit to start
        if line.startswith("em:iteration="):
            break
    process.terminate()
    assert process.wait(timeout=10) == 143
    assert "stopped by SIGTERM" in (opt_ml / "output" / "failure").read_text()
    assert not (opt_ml / "model").exists() or not list((opt_ml / "model").iterdir()), "no half-written model"


def test_the_folder_builds_on_its_own_and_claims_bidirectional_streaming() -> None:
    dockerfile = (FOLDER / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim" in dockerfile
    assert "com.amazonaws.sagemaker.capabilities.bidirectional-streaming=true" in dockerfile
    assert not [line for line in dockerfile.splitlines() if line.startswith("ENTRYPOINT")], "train and serve on PATH"
    for source in ("requirements.txt", "program/"):
        assert (FOLDER / source).exists()


def test_the_readme_shows_the_steps_by_hand_and_with_the_sdk() -> None:
    text = (FOLDER / "README.md").read_text()
    for needle in (
        "docker build -t text_generation .",
        "BASE_IMAGE",
        ":/opt/ml",
        " train",
        "-p 8080:8080",
        " serve",
        "test-dirs/text_generation/payload.json",
        "Accept: text/event-stream",
        "Accept: application/jsonlines",
        "websocat ws://localhost:8080/invocations-bidirectional-stream",
        "image_uri",
        "Estimator(",
        "Model(",
        "invoke_endpoint_with_response_stream",
    ):
        assert needle in text, f"reference_images/text_generation/README.md does not show {needle!r}"
