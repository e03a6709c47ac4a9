"""Every check can pass and can fail: the real checks, run by the real runner, against scripted fake images.

A :class:`GoodImage` passes every clause; each broken image below breaks one behaviour, and the test asserts
the verdict and the clause's violation text, as a user would read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import contract
from conformance.context import Options
from conformance.pid1 import StopResult
from conformance.registry import clauses
from conformance.runner import ERROR, FAIL, PASS, SKIP
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir

from .checkfakes import PAYLOAD, FakeImage, GoodImage, failed, image_info, serverless_test_dir, trained, write_test_dir
from .fakeenv import (
    HARD_CODED,
    BadExecutionParameters,
    ClaimsBindToPort,
    RecordedProcessTable,
    SharesPorts,
)
from .fakegenerative import (
    ASYNC_POLICY,
    STREAM_POLICY,
    Bidirectional,
    ClosesKeptAlive,
    TextGenerator,
    document_test_dir,
)
from .fakeimages import (
    AnswersUnsupported,
    CapsRecords,
    ChokesOnCustomAttributes,
    CrashesOnBadInput,
    DiesOnBadInput,
    DropsLastRecord,
    HealthyWithoutModel,
    IgnoresAccept,
    IgnoresSigterm,
    LabelsHtml,
    LoopbackOnly,
    MultiModel,
    NeedsEgress,
    Nondeterministic,
    OneMegabyteLimit,
    PadsAnswers,
    PingBlockedByInvocations,
    ReadsHyperparameters,
    Serverless,
    SlowPing,
    StrictMediaType,
    Trains,
    WritesIntoModelDir,
    WritesOutsideTmp,
    in_both_forms,
)
from .fakeserver import FakeServer, Response
from .faketarget import certify, rendered

ALL_IDS = [c.id for c in clauses()]


@pytest.mark.parametrize("clause_id", ALL_IDS)
def test_a_conforming_image_passes_every_clause(clause_id: str, tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), clause_id, tmp_path)
    claimed = {"ENV-5": contract.BIND_TO_PORT_LABEL, "ENV-6": contract.BIND_TO_PORT_LABEL}
    claimed["ENV-7"] = contract.MULTI_MODEL_LABEL
    claimed.update(dict.fromkeys(("SRV-25", "SRV-26", "SRV-27"), contract.BIDI_LABEL))
    claimed["ENV-8"] = "[serverless] memory_mb"
    claimed["ENV-9"] = "[serverless] memory_mb"
    # TRN-11..13 are judged only when the policy declares them (test_training_contract.py)
    claimed.update({"TRN-11": "[train]", "TRN-12": "[train]", "TRN-13": "[train]"})
    claimed["SRV-21"] = "[document]"
    claimed.update({"SRV-22": "[streaming]", "SRV-23": "[streaming]", "SRV-24": "[streaming]"})
    claimed.update({"ENV-10": "[async]", "ENV-11": "[async]", "ENV-12": "[async]", "ENV-13": "[async]"})
    if clause_id in claimed:
        assert outcome.verdict == SKIP
        assert claimed[clause_id] in outcome.reason
        return
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason


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
    elif clause_id in DOCUMENT_POLICIES:
        test_dir = document_test_dir(tmp_path, DOCUMENT_POLICIES[clause_id])
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
DOCUMENT_POLICIES = {"SRV-21": "", "SRV-22": STREAM_POLICY, "SRV-23": STREAM_POLICY, "SRV-24": STREAM_POLICY}
DOCUMENT_POLICIES |= {"ENV-10": ASYNC_POLICY, "ENV-11": ASYNC_POLICY, "ENV-12": ASYNC_POLICY, "ENV-13": ASYNC_POLICY}
"""Tables added to a text generator's test-dir (checkfakes.document_test_dir) for the generative clauses."""

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
    "SRV-20": ClosesKeptAlive(),
    "SRV-21": TextGenerator(crashes_on_shape=True),
    "SRV-22": TextGenerator(buffered=True),
    "SRV-23": TextGenerator(bare_tokens=True),
    "SRV-24": TextGenerator(validates_in_stream=True),
    "ENV-10": TextGenerator(chunked_answers=True),
    "ENV-11": TextGenerator(header_bytes=5000),
    "ENV-12": TextGenerator(proxy_timeout=65),
    "ENV-13": TextGenerator(body_limit=7 * 1024 * 1024),
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
    "SRV-25": Bidirectional(accept_seconds=0.9),
    "SRV-26": Bidirectional(answers_binary=False),
    "SRV-27": Bidirectional(pongs=False),
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
