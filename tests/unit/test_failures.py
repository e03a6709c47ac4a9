"""How a failure reads: the exact text a user sees for a broken clause."""

from __future__ import annotations

from conformance.failures import (
    BODY_LINES,
    LOG_LINES,
    CheckSkipped,
    ConformanceFailure,
    DependencyFailed,
    Section,
    Violation,
    shorten,
)

NON_ZERO = Violation(
    "Training on the test-dir failed",
    expected="exit code 0",
    actual="exit code 1 after 2.0 s",
    evidence=(("/opt/ml/output/failure", "ValueError: no CSV files in /opt/ml/input/data/training"),),
    reproduce=("docker run --rm IMAGE train",),
)
NO_MODEL = Violation(
    "Training on the test-dir exited 0 but wrote no model",
    expected="at least one file in /opt/ml/model",
    actual="/opt/ml/model is empty",
    reproduce=("docker run --rm IMAGE train", "ls -lR out/model"),
)


def test_one_violation() -> None:
    failure = ConformanceFailure(
        "TRN-1",
        "MUST",
        "A valid /opt/ml tree trains",
        [NON_ZERO],
        sections=[Section("training run 'default' logs", "loading data\nTraceback ...\nValueError: no CSV files")],
        reproduce=["docker build -t IMAGE ."],
        source="https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html",
    )
    assert (
        failure.render()
        == """\
TRN-1 [MUST] A valid /opt/ml tree trains

Training on the test-dir failed

    Expected: exit code 0
    Actual:   exit code 1 after 2.0 s

/opt/ml/output/failure:
    ValueError: no CSV files in /opt/ml/input/data/training

---- training run 'default' logs (last 50 lines) ----
    loading data
    Traceback ...
    ValueError: no CSV files

Reproduce with:
    docker build -t IMAGE .
    docker run --rm IMAGE train

Contract: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html"""
    )
    assert str(failure) == failure.render()
    assert failure.args == ("TRN-1 [MUST] A valid /opt/ml tree trains",)
    assert isinstance(failure, AssertionError)


def test_several_violations_are_numbered_and_counted() -> None:
    failure = ConformanceFailure("TRN-2", "MUST", "Hyperparameters arrive as strings", [NON_ZERO, NO_MODEL])
    text = failure.render()
    assert failure.headline == "TRN-2 [MUST] Hyperparameters arrive as strings (2 violations)"
    assert text.startswith(failure.headline + "\n\n1. Training on the test-dir failed\n")
    assert "\n\n2. Training on the test-dir exited 0 but wrote no model\n\n    Expected: at least one file" in text
    # Reproduction steps are gathered from every violation, each once, in order.
    assert text.endswith("Reproduce with:\n    docker run --rm IMAGE train\n    ls -lR out/model")
    assert "Contract:" not in text


def test_sections_can_be_left_out() -> None:
    failure = ConformanceFailure("SRV-2", "MUST", "ping", [NO_MODEL], sections=[Section("serving logs", "boot")])
    assert "serving logs" in failure.render()
    assert "serving logs" not in failure.render(with_sections=False)
    assert "boot" not in failure.render(with_sections=False)


def test_long_evidence_is_cut_to_its_head_and_logs_to_their_tail() -> None:
    body = "\n".join(f"line {n}" for n in range(1, 101))
    violation = Violation("s", expected="e", actual="a", evidence=(("Response", body),))
    failure = ConformanceFailure("SRV-4", "MUST", "t", [violation], sections=[Section("logs", body)])
    text = failure.render()
    evidence, logs = text.split("---- logs")
    assert f"    line {BODY_LINES}\n    ... ({100 - BODY_LINES} more lines)" in evidence
    assert f"line {BODY_LINES + 1}\n" not in evidence
    assert f"line {100 - LOG_LINES}\n" not in logs
    assert logs.endswith(
        f"    line {100 - LOG_LINES + 1}\n" + "\n".join(f"    line {n}" for n in range(102 - LOG_LINES, 101))
    )


def test_empty_evidence_and_logs_say_so() -> None:
    violation = Violation("s", expected="e", actual="a", evidence=(("Response", ""),))
    failure = ConformanceFailure("SRV-4", "SHOULD", "t", [violation], sections=[Section("logs", "")])
    assert "Response:\n    (empty)" in failure.render()
    assert "---- logs (last 50 lines) ----\n    (empty)" in failure.render()


def test_multi_line_actual_and_indented_evidence() -> None:
    violation = Violation("s", expected="e", actual="a", evidence=(("Process table", "PID PPID\n  1    0 serve"),))
    assert (
        violation.render()
        == "s\n\n    Expected: e\n    Actual:   a\n\nProcess table:\n    PID PPID\n      1    0 serve"
    )


def test_skips() -> None:
    skipped = DependencyFailed("TRN-1", "training did not produce a model to serve")
    assert isinstance(skipped, CheckSkipped)
    assert str(skipped) == "depends on TRN-1, which failed here: training did not produce a model to serve"
    assert skipped.clause_id == "TRN-1"


def test_shorten() -> None:
    assert shorten(b"abc") == "abc"
    assert shorten("x" * 400, 10) == "xxxxxxxxxx... (400 bytes in all)"
    assert shorten(b"\xff" * 5, 2) == "\ufffd\ufffd... (5 bytes in all)"
