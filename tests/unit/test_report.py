"""The JSON report and the terminal summary, from real outcomes of real checks on fake images."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest

from conformance import REPORT_SCHEMA_VERSION, __version__, report
from conformance.registry import clauses
from conformance.runner import ERROR, FAIL, PASS, SKIP, WARN, Outcome

from .checkfakes import GoodImage
from .fakeserver import FakeServer, Response
from .faketarget import REPORT_SCHEMA, FakeCertification, outcomes_of


def test_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)


def test_document_matches_the_schema(certification: FakeCertification) -> None:
    outcomes = outcomes_of(certification, ["IMG-1", "IMG-2", "TRN-1", "ENV-5"])
    assert [o.verdict for o in outcomes] == [PASS, FAIL, PASS, SKIP], "IMG-2 is MUST: its waiver does not count"
    document = report.document(certification, outcomes)
    jsonschema.validate(document, REPORT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert document["schema_version"] == REPORT_SCHEMA_VERSION
    assert document["tool"] == {"name": "sagemaker-conformance", "version": __version__}
    assert document["image"]["platform"] == "linux/arm64"
    assert document["engine"] == {"name": "Fake", "version": "27.0.0", "api_version": "1.46"}
    assert document["verdict"] == "failed"
    assert document["measurements"] == {"train_seconds": 2.5}
    assert [c["id"] for c in document["clauses"]] == ["IMG-1", "IMG-2", "TRN-1", "ENV-5"]
    assert document["clauses"][1]["evidence"].startswith("IMG-2 [MUST] The image's platform is the one SageMaker runs")
    failure = document["clauses"][1]["failure"]
    assert failure["violations"][0]["expected"]
    assert failure["violations"][0]["actual"]
    assert failure["source"].startswith("https://")
    assert [c["failure"] for c in document["clauses"] if c["id"] != "IMG-2"] == [None, None, None]
    # TRN-1 trained (the fake trains again at each ask): each run started, was ready (began) and stopped, in order.
    containers = document["timeline"]["containers"]
    assert {(c["role"], c["configuration"]) for c in containers} == {("training", "default")}
    assert all(0 <= c["start_s"] <= c["ready_s"] <= c["stop_s"] for c in containers)
    assert json.loads(json.dumps(document)) == document


def test_a_full_run_matches_the_schema(certification: FakeCertification) -> None:
    outcomes = outcomes_of(certification, [c.id for c in clauses() if c.id not in ("SRV-9", "SRV-13")])
    document = report.document(certification, outcomes)
    jsonschema.validate(document, REPORT_SCHEMA)
    assert {c["verdict"] for c in document["clauses"]} <= {PASS, FAIL, SKIP}


def test_write(certification: FakeCertification, tmp_path: Path) -> None:
    outcomes = outcomes_of(certification, ["IMG-1"])
    path = report.write(tmp_path / "reports" / "nested", certification, outcomes)
    assert path == tmp_path / "reports" / "nested" / "example.com_team_model_1.0.json"
    jsonschema.validate(json.loads(path.read_text()), REPORT_SCHEMA)
    # The HTML page beside it (its content: tests/unit/test_report_html.py).
    assert report.html_path(path) == tmp_path / "reports" / "nested" / "example.com_team_model_1.0.html"
    assert report.html_path(path).read_text().startswith("<!DOCTYPE html>")
    assert report.verdict(outcomes) == "passed"


def test_schema_rejects_what_a_report_must_not_be(certification: FakeCertification) -> None:
    document = report.document(certification, outcomes_of(certification, ["IMG-2"]))
    broken = json.loads(json.dumps(document))
    broken["clauses"][0]["evidence"] = None  # a failure without evidence
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)
    broken = json.loads(json.dumps(document))
    broken["clauses"][0]["failure"] = None  # a failure without its parts
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)
    broken = json.loads(json.dumps(document))
    broken["timeline"]["containers"] = [{"role": "training", "configuration": "default", "start_s": -1.0}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)
    broken = json.loads(json.dumps(document))
    del broken["timeline"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)
    broken = json.loads(json.dumps(document))
    broken["verdict"] = "ok"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)


def test_verdict() -> None:
    clause = next(iter(clauses()))

    def run(*verdicts: str) -> str:
        return report.verdict([Outcome(clause, v) for v in verdicts])

    assert run() == "passed"
    assert run(PASS, SKIP, WARN) == "passed"
    assert run(PASS, FAIL) == "failed"
    assert run(PASS, ERROR) == "failed"
    busy = Outcome(clause, SKIP, "not judged, the host was too busy", not_judged=True)
    assert report.verdict([Outcome(clause, PASS), busy]) == "not judged"
    assert report.verdict([Outcome(clause, FAIL), busy]) == "failed"


def test_summary_lines(certification: FakeCertification) -> None:
    outcomes = outcomes_of(certification, [c.id for c in clauses()][:11])
    lines = report.summary_lines("example.com/team/model:1.0", outcomes, certification)
    assert lines[:3] == [
        f"example.com/team/model:1.0: FAILED - 10 passed, 1 failed, 0 warned, 0 skipped, "
        f"{certification.containers_started} containers",
        "  IMG-1:pass IMG-2:FAIL IMG-3:pass IMG-4:pass TRN-1:pass TRN-2:pass TRN-3:pass TRN-4:pass",
        "  TRN-5:pass TRN-6:pass TRN-7:pass",
    ]
    assert lines[3:] == ["  measured: train_seconds=2.5, train_sigterm_seconds=1.1, trn7_load_average=0.5"]
    errors = [Outcome(outcomes[0].clause, ERROR), Outcome(outcomes[1].clause, WARN)]
    assert report.summary_lines("x", errors, None) == [
        "x: FAILED - 0 passed, 0 failed, 1 warned, 0 skipped, 1 check errors",
        "  IMG-1:ERROR IMG-2:warn",
    ]


def test_a_waived_should_is_a_warning_and_a_must_is_not_waivable(certification: FakeCertification) -> None:
    class AcceptsAnything(GoodImage):
        def invoke(self, server: FakeServer, body: bytes, headers: Mapping[str, str]) -> Response:
            return super().invoke(server, body, {"content-type": "text/csv"})

    certification.fake = AcceptsAnything()
    srv6 = outcomes_of(certification, ["SRV-6"])[0]
    assert srv6.verdict == WARN
    assert srv6.reason == "downgraded to a warning by the policy: the framework answers 400"
    assert srv6.failure is not None
    document = report.document(certification, [srv6])
    jsonschema.validate(document, REPORT_SCHEMA)
    assert document["verdict"] == "passed"
