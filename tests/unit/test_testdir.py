"""Loading a test-dir: every mistake a user can make ends in one HarnessError that says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import contract
from conformance.failures import HarnessError
from conformance.testdir import POLICY_FILE, Policy, load

from .checkfakes import PAYLOAD, write_test_dir

REPO = Path(__file__).resolve().parents[2]


def test_a_valid_test_dir(tmp_path: Path) -> None:
    root = write_test_dir(
        tmp_path / "iris", channels={"training": {"iris.csv": PAYLOAD}, "validation": {"v.csv": PAYLOAD}}
    )
    test_dir = load(root)
    assert test_dir.root == root.resolve()
    assert test_dir.name == "iris"
    assert test_dir.policy == Policy()
    assert test_dir.hyperparameters == {"max_depth": "3"}
    assert test_dir.channels == {"training": root / "input/data/training", "validation": root / "input/data/validation"}
    assert test_dir.payload == PAYLOAD
    assert test_dir.expected_output is None
    assert test_dir.model_dir is None


def test_default_policy() -> None:
    policy = Policy()
    assert (policy.profile, policy.content_type, policy.payload, policy.csv_header) == (
        "train+serve",
        "text/csv",
        "payload.csv",
        False,
    )
    # Unnamed: ENV-1..3 recognise the stack (conformance.variables.judged_variables).
    assert (policy.workers_env, policy.timeout_env) == (None, None)
    assert policy.trains
    assert policy.serves
    assert dict(policy.waive) == {}


def test_a_full_policy(tmp_path: Path) -> None:
    policy = """
profile = "train+serve"
content_type = "text/csv"
payload = "requests/body.csv"
expected_output = "expected.csv"
csv_header = true

[env]
workers = "SAGEMAKER_MODEL_SERVER_WORKERS"
timeout = ""

[waive]
SRV-6 = "the framework answers 400 to every bad request"

[train]
sigterm_hyperparameters = { epochs = "1000" }
"""
    extra = {"requests/body.csv": b"a,b\n1,2\n", "expected.csv": b"0.5\n\n"}
    test_dir = load(write_test_dir(tmp_path / "td", policy=policy, payload=None, extra=extra))
    assert test_dir.payload == b"a,b\n1,2\n"
    assert test_dir.expected_output == ("0.5",)
    assert test_dir.policy.csv_header is True
    assert test_dir.policy.workers_env == "SAGEMAKER_MODEL_SERVER_WORKERS"
    assert test_dir.policy.timeout_env == ""
    assert dict(test_dir.policy.waive) == {"SRV-6": "the framework answers 400 to every bad request"}
    assert dict(test_dir.policy.sigterm_hyperparameters) == {"epochs": "1000"}


def test_no_hyperparameters_file_means_none(tmp_path: Path) -> None:
    assert load(write_test_dir(tmp_path / "td", hyperparameters=None)).hyperparameters == {}


@pytest.mark.parametrize("profile", ["train+serve", "serve-only", "train-only"])
def test_profiles(profile: str, tmp_path: Path) -> None:
    test_dir = load(write_test_dir(tmp_path / "td", policy=f'profile = "{profile}"\n', extra={"model/m.bin": b"1"}))
    assert test_dir.policy.trains == (profile != "serve-only")
    assert test_dir.policy.serves == (profile != "train-only")


def test_serve_only_with_a_model_and_no_channels(tmp_path: Path) -> None:
    root = write_test_dir(
        tmp_path / "td",
        policy='profile = "serve-only"\n',
        channels={},
        hyperparameters=None,
        extra={"model/sub/model.bin": b"weights"},
    )
    test_dir = load(root)
    assert test_dir.model_dir == root.resolve() / "model"
    assert test_dir.channels == {}


def test_train_only_needs_no_payload(tmp_path: Path) -> None:
    assert load(write_test_dir(tmp_path / "td", policy='profile = "train-only"\n', payload=None)).payload == b""


# --- mistakes -----------------------------------------------------------------------------------------------------


def error(root: Path) -> str:
    with pytest.raises(HarnessError) as info:
        load(root)
    message = str(info.value)
    assert "Traceback" not in message
    return message


def test_missing_dir(tmp_path: Path) -> None:
    message = error(tmp_path / "nope")
    assert message == f"--test-dir {tmp_path / 'nope'} is not a directory. Point it at a folder shaped like /opt/ml."


def test_a_file_is_not_a_test_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in error(tmp_path / "file")


@pytest.mark.parametrize(
    ("value", "written"),
    [("10", '"10"'), ("0.5", '"0.5"'), ("true", '"True"'), ('["a"]', "\"['a']\""), ("null", '"None"')],
)
def test_non_string_hyperparameter(value: str, written: str, tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", hyperparameters=f'{{"max_depth": "3", "epochs": {value}}}'))
    assert "hyperparameters.json: 'epochs' is" in message
    assert "SageMaker passes every hyperparameter as a string" in message
    assert message.endswith(f"write {written}.")


def test_hyperparameters_not_json(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", hyperparameters='{"max_depth": 3,}'))
    assert "hyperparameters.json is not valid JSON" in message


def test_hyperparameters_not_an_object(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", hyperparameters='["max_depth"]'))
    assert "must hold a JSON object, not list" in message


def test_bad_toml(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy='profile = "train+serve\n'))
    assert f"{POLICY_FILE} is not valid TOML" in message
    assert "line 1" in message


def test_unknown_policy_key(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy='profiel = "serve-only"\n'))
    assert "unknown key(s) ['profiel']" in message
    assert "'profile'" in message


def test_unknown_key_in_a_policy_table(tmp_path: Path) -> None:
    """A typo inside [env] must not silently fall back to MODEL_SERVER_WORKERS (ENV-1 would then test the wrong
    variable and blame the image)."""
    message = error(write_test_dir(tmp_path / "td", policy='[env]\nworker = "SAGEMAKER_MODEL_SERVER_WORKERS"\n'))
    assert "worker" in message


def test_bad_profile(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy='profile = "serve"\n'))
    assert message.endswith("profile = 'serve' is not one of train+serve, serve-only, train-only.")


@pytest.mark.parametrize(
    ("line", "kind"),
    [('csv_header = "yes"', "bool"), ("content_type = 1", "str"), ('env = "x"', "dict"), ("waive = []", "dict")],
)
def test_wrongly_typed_policy_values(line: str, kind: str, tmp_path: Path) -> None:
    assert error(write_test_dir(tmp_path / "td", policy=line + "\n")).endswith(f"must be a {kind}.")


@pytest.mark.parametrize("reason", ['""', '"   "', "1", "true"])
def test_waive_without_reason(reason: str, tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy=f"[waive]\nSRV-6 = {reason}\n"))
    assert message.endswith('[waive] SRV-6 needs a written reason, e.g. SRV-6 = "why".')


def test_sigterm_hyperparameters_must_be_strings(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy="[train]\nsigterm_hyperparameters = { epochs = 1000 }\n"))
    assert "sigterm_hyperparameters must map names to strings" in message


def test_serve_only_without_model(tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "td", policy='profile = "serve-only"\n')
    (root / "model" / "empty-folder").mkdir(parents=True)
    message = error(root)
    assert message == (
        f"profile is serve-only but {root.resolve() / 'model'} holds no model files to mount at {contract.MODEL_DIR}."
    )


def test_missing_payload(tmp_path: Path) -> None:
    root = write_test_dir(tmp_path / "td", payload=None)
    assert (
        error(root)
        == f"test-dir {root.resolve()} has no payload.csv: the harness needs a request body for /invocations."
    )


def test_payload_named_by_the_policy_is_missing(tmp_path: Path) -> None:
    assert "has no body.json" in error(write_test_dir(tmp_path / "td", policy='payload = "body.json"\n'))


@pytest.mark.parametrize("payload", [b"", b"\n\n", b"  \r\n"])
def test_empty_payload(payload: bytes, tmp_path: Path) -> None:
    assert "payload.csv is empty: give at least one record." in error(write_test_dir(tmp_path / "td", payload=payload))


def test_no_channels(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", channels={}))
    assert "has no training channels: expected input/data/<channel>/" in message
    assert 'profile = "serve-only"' in message


def test_expected_output_csv_is_read_when_present_without_being_named(tmp_path: Path) -> None:
    records = b"".join(b"%d\n" % i for i in range(len(PAYLOAD.splitlines())))
    test_dir = load(write_test_dir(tmp_path / "td", extra={"expected_output.csv": records}))
    assert test_dir.expected_output == tuple(records.decode().split())


def test_expected_output_missing(tmp_path: Path) -> None:
    message = error(write_test_dir(tmp_path / "td", policy='expected_output = "expected.csv"\n'))
    assert "expected_output = 'expected.csv', which is missing" in message


def test_expected_output_with_another_number_of_records(tmp_path: Path) -> None:
    """SRV-4 compares the image's records with expected_output one for one; a file with more or fewer lines than
    the payload has records is a test-dir mistake, caught when the test-dir is loaded (today SRV-4 crashes on it
    with a ValueError from zip(strict=True), reported as a harness error)."""
    root = write_test_dir(
        tmp_path / "td", policy='expected_output = "expected.csv"\n', extra={"expected.csv": b"1\n2\n"}
    )
    assert "expected.csv" in error(root)


# --- the repository's own test-dirs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["decision_trees", "catboost"])
def test_the_repositorys_test_dirs_load(name: str) -> None:
    root = REPO / "test-dirs" / name
    if not root.is_dir():
        pytest.skip(f"{root} is not there")
    test_dir = load(root)
    assert test_dir.policy.profile == "train+serve"
    assert test_dir.channels, "a train+serve test-dir has training data"
    assert test_dir.payload.strip()
    assert all(isinstance(v, str) for v in test_dir.hyperparameters.values())
    if test_dir.expected_output is not None:
        records = [line for line in test_dir.payload.splitlines() if line.strip()]
        assert len(test_dir.expected_output) == len(records) - int(test_dir.policy.csv_header)
