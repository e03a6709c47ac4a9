"""The HTML report page, rendered from hand-made JSON reports: sections, verdicts, colours, escaping, the chart."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance import report_html

from .faketarget import REPORT_SCHEMA, FakeCertification, outcomes_of

NASTY_LOG = "\x1b[31mERROR\x1b[0m <html> & 'quotes' \"too\"\r\nbell\x07 \x1b]0;title\x07done\n"


def report(**changes: Any) -> dict[str, Any]:
    """A schema-shaped report with every verdict, one failure with all its parts, and three containers."""
    document: dict[str, Any] = {
        "schema_version": "1.3",
        "tool": {"name": "sagemaker-conformance", "version": "0.1.0"},
        "created": "2026-12-02T10:00:00Z",
        "image": {"reference": "team/model:1.0", "id": "sha256:" + "ab" * 32, "digests": [], "platform": "linux/amd64"},
        "test_dir": "test-dirs/model",
        "profile": "train+serve",
        "engine": {"name": "Docker", "version": "26.1.0", "api_version": "1.45"},
        "verdict": "failed",
        "containers_started": 3,
        "measurements": {"train_seconds": 2.5, "workers_observed": 2},
        "timeline": {
            "started": "2026-12-02T09:59:00.000Z",
            "containers": [
                {"role": "training", "configuration": "default", "start_s": 1.0, "ready_s": 1.5, "stop_s": 11.0},
                {"role": "serving", "configuration": "default", "start_s": 12.0, "ready_s": None, "stop_s": 32.0},
                {"role": "serving", "configuration": "sigterm", "start_s": 33.0, "ready_s": 34.0, "stop_s": None},
            ],
        },
        "clauses": [
            clause("IMG-1", "pass"),
            clause("SRV-2", "fail", reason="SRV-2 [MUST] /ping answers <200> & fast", failure=FAILURE),
            clause("SRV-6", "warn", reason="downgraded to a warning by the policy: x", failure=brief("SRV-6")),
            clause("TRN-3", "skip", reason="depends on TRN-1, which failed here", depends_on="TRN-1"),
            clause("ENV-1", "error", reason="KeyError: 'x'", failure=brief("ENV-1")),
        ],
    }
    document.update(changes)
    return document


FAILURE = {
    "violations": [
        {
            "summary": "GET /ping never answered 200",
            "expected": "200 within 2 s",
            "actual": "500 <Internal Server Error>",
            "evidence": [{"name": "Response body", "text": "<h1>warming up</h1>"}],
        }
    ],
    "logs": [{"title": "serving container 'default' logs", "text": NASTY_LOG}],
    "reproduce": ["docker run --rm -p 8080:8080 team/model:1.0 serve", "curl -i localhost:8080/ping && echo ok"],
    "source": "https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html",
}


def brief(cid: str) -> dict[str, Any]:
    violation = {"summary": f"{cid} broke", "expected": "e", "actual": "a", "evidence": []}
    return {"violations": [violation], "logs": [], "reproduce": [], "source": ""}


def clause(
    cid: str,
    verdict: str,
    *,
    reason: str = "",
    failure: Any = None,
    evidence: str | None = None,
    depends_on: str | None = None,
) -> Any:
    return {
        "id": cid,
        "level": "MUST",
        "title": f"the rule of {cid}",
        "verdict": verdict,
        "reason": reason,
        "depends_on": depends_on,
        "not_judged": False,
        "measurements": {"train_seconds": 2.5} if cid == "IMG-1" else {},
        "notes": [],
        "evidence": evidence if evidence is not None else ("rendered" if failure else None),
        "failure": failure,
    }


class Page(HTMLParser):
    """The elements of a page: (tag, attributes, text inside it), enough to query like a DOM."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = (tag, {k: v or "" for k, v in attrs}, [])
        self.elements.append(element)
        if tag not in ("meta", "line", "rect", "br", "input"):
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def find(self, tag: str | None = None, **attrs: str) -> list[tuple[str, dict[str, str], str]]:
        found = []
        for name, attributes, text in self.elements:
            classes = attributes.get("class", "").split()
            wanted = {k.rstrip("_"): v for k, v in attrs.items()}
            if tag and name != tag:
                continue
            if "class" in wanted and wanted["class"] not in classes:
                continue
            if any(attributes.get(k.replace("_", "-")) != v for k, v in wanted.items() if k != "class"):
                continue
            found.append((name, attributes, "".join(text)))
        return found


def test_every_section_is_present() -> None:
    page = Page(report_html.render(report()))
    ids = [attributes.get("id") for _, attributes, _ in page.elements]
    for section in ("summary", "verdict", "clauses", "failures", "measurements", "timeline"):
        assert section in ids
    assert page.find("h1", class_="image")[0][2] == "team/model:1.0"
    assert page.find("title")[0][2] == "failed: team/model:1.0 - sagemaker-conformance"


def test_the_engine_is_named_as_the_report_names_it() -> None:
    text = report_html.render(report(engine={"name": "Fake", "version": "27.0.0", "api_version": "1.46"}))
    assert "Fake engine" in text
    assert "Docker engine" not in text
    # Reports of schema 1.2 and before name no engine: they were all Docker's.
    assert "Docker engine" in report_html.render(report(engine={"version": "26.1.0", "api_version": "1.45"}))


@pytest.mark.parametrize(
    ("verdicts", "json_verdict", "state", "word"),
    [
        (["pass", "skip", "warn"], "passed", "certified", "Certified"),
        (["pass", "fail", "error"], "failed", "failed", "Failed"),
        (["pass", "error"], "failed", "could-not-judge", "Could not judge"),
        ([], "passed", "could-not-judge", "Could not judge"),
    ],
)
def test_the_verdict_is_prominent(verdicts: list[str], json_verdict: str, state: str, word: str) -> None:
    clauses = [clause(f"IMG-{i}", v, reason="r", evidence=None if v in ("pass", "skip") else "e")
               for i, v in enumerate(verdicts, 1)]  # fmt: skip
    page = Page(report_html.render(report(clauses=clauses, verdict=json_verdict)))
    (banner,) = page.find("section", id="verdict")
    assert banner[1]["data-verdict"] == state
    assert state in banner[1]["class"].split()
    assert page.find("div", class_="verdict-word")[0][2] == word
    # The banner comes before the clause table: the first thing the eye meets after the image's name.
    ids = [a.get("id") for _, a, _ in page.elements if a.get("id")]
    assert ids.index("verdict") < ids.index("clauses")


def test_clause_rows_are_coloured_by_verdict() -> None:
    text = report_html.render(report())
    page = Page(text)
    rows = page.find("tr", class_="clause")
    assert [(r[1]["data-clause"], r[1]["data-verdict"]) for r in rows] == [
        ("IMG-1", "pass"), ("SRV-2", "fail"), ("SRV-6", "warn"), ("TRN-3", "skip"), ("ENV-1", "error"),
    ]  # fmt: skip
    colours = {}
    for verdict in report_html.VERDICTS:
        (row,) = [r for r in rows if r[1]["data-verdict"] == verdict]
        assert f"v-{verdict}" in row[1]["class"].split()
        match = re.search(rf"tr\.v-{verdict} \{{ border-left-color: var\(--{verdict}\)", text)
        assert match, f"no colour for {verdict} rows"
        colours[verdict] = re.search(rf"--{verdict}: (#[0-9a-f]{{6}})", text).group(1)  # type: ignore[union-attr]
    assert len(set(colours.values())) == 5, "each verdict has its own colour"
    srv2 = page.find("tr", data_clause="SRV-2")[0][2]
    assert "MUST" in srv2
    assert "failed" in srv2
    assert "SRV-2 [MUST] /ping answers <200> & fast" in srv2


def test_failures_show_expected_actual_evidence_logs_and_reproduce() -> None:
    page = Page(report_html.render(report()))
    articles = page.find("article", class_="failure")
    assert [a[1]["data-clause"] for a in articles] == ["SRV-2", "ENV-1", "SRV-6"], (
        "failures, then errors, then warnings"
    )
    assert page.find("dd", class_="expected")[0][2] == "200 within 2 s"
    assert page.find("dd", class_="actual")[0][2] == "500 <Internal Server Error>"
    assert page.find("pre", class_="evidence")[0][2] == "<h1>warming up</h1>"
    assert page.find("pre", class_="reproduce")[0][2] == "\n".join(FAILURE["reproduce"])  # type: ignore[arg-type]
    assert "serving container 'default' logs" in page.find("summary")[0][2]
    (source,) = page.find("a", href=FAILURE["source"])  # type: ignore[arg-type]
    assert source[2] == FAILURE["source"]
    assert "ENV-1 broke" in page.find("article", data_clause="ENV-1")[0][2]
    assert page.find("a", href="#failure-SRV-2"), "the table row links to its failure"


def test_a_failure_with_only_its_rendered_text_still_shows_it() -> None:
    document = report()
    document["clauses"][4].update(failure=None, evidence="Traceback <module>")
    page = Page(report_html.render(document))
    assert page.find("article", data_clause="ENV-1")[0][2].endswith("Traceback <module>")


def test_the_fake_report_matches_the_schema() -> None:
    jsonschema.validate(report(), REPORT_SCHEMA)


def test_logs_are_escaped_and_stripped_of_ansi_codes() -> None:
    text = report_html.render(report())
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "ERROR &lt;html&gt; &amp; &#x27;quotes&#x27; &quot;too&quot;\nbell done\n" in text
    assert "<html> &" not in text
    assert "<h1>warming up" not in text
    assert "&lt;h1&gt;warming up&lt;/h1&gt;" in text
    (log,) = Page(text).find("pre", class_="log")
    assert log[2] == "ERROR <html> & 'quotes' \"too\"\nbell done\n"


def test_hostile_names_cannot_break_out() -> None:
    evil = '"><script>alert(1)</script>'
    document = report()
    document["image"]["reference"] = evil
    document["timeline"]["containers"][0]["configuration"] = evil
    document["clauses"][1]["id"] = evil
    text = report_html.render(document)
    assert "<script" not in text
    assert text.count("&lt;script&gt;") >= 4


def test_the_page_is_self_contained() -> None:
    text = report_html.render(report())
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url(", " src=", "@font-face"):
        assert forbidden not in text, forbidden
    # The only absolute link is the contract source a reader may click; nothing is fetched to show the page.
    assert re.findall(r'href="(https?://[^"]+)"', text) == [FAILURE["source"]]


def test_measured_figures() -> None:
    page = Page(report_html.render(report()))
    rows = {a["data-measurement"]: t for _, a, t in page.find("tr") if "data-measurement" in a}
    assert rows == {"train_seconds": "train_seconds2.5 sIMG-1", "workers_observed": "workers_observed2"}
    assert "Nothing was measured." in report_html.render(report(measurements={}))


def bars(page: Page) -> list[dict[str, str]]:
    return [a for tag, a, _ in page.find("rect") if "bar" in a.get("class", "").split()]


def test_timeline_bars_are_proportional_to_time() -> None:
    page = Page(report_html.render(report()))
    (svg,) = page.find("svg", class_="timeline")
    seconds_per_px = float(svg[1]["data-seconds-per-px"])
    spans = page.find("g", class_="span")
    assert [(s[1]["data-role"], s[1]["data-configuration"]) for s in spans] == [
        ("training", "default"), ("serving", "default"), ("serving", "sigterm"),
    ]  # fmt: skip
    drawn = bars(page)
    assert [b["class"] for b in drawn] == [
        "bar starting", "bar ready", "bar never", "bar starting", "bar ready",
    ]  # fmt: skip
    widths = [float(b["width"]) * seconds_per_px for b in drawn]
    # training 1.0 -> 1.5 -> 11.0; serving default 12 -> 32 never ready; sigterm 33 -> 34 -> still running (34 s)
    assert widths == pytest.approx([0.5, 9.5, 20.0, 1.0, 0.0], abs=0.01 + 1.5 * seconds_per_px)
    starts = [float(b["x"]) for b in drawn]
    assert starts[2] - starts[0] == pytest.approx(11.0 / seconds_per_px, abs=0.05), "bars start at their start time"
    assert starts[1] - starts[0] == pytest.approx(0.5 / seconds_per_px, abs=0.05)
    # Two rows for the two serving configurations, one for training; the unstopped container is marked so.
    labels = [t for _, _, t in page.find("text", class_="row-label")]
    assert labels == ["training · default", "serving · default", "serving · sigterm"]
    assert len(page.find("rect", class_="open-end")) == 1
    assert "never ready" in spans[1][2]
    assert "not seen to stop" in spans[2][2]
    table = [t for _, _, t in page.find("tr", class_="container")]
    assert table[0] == "trainingdefault1.0 s1.5 s11.0 s"
    assert table[1] == "servingdefault12.0 s-32.0 s"


def test_a_replaced_container_shares_its_configuration_row() -> None:
    document = report()
    containers = document["timeline"]["containers"]
    containers.append({"role": "serving", "configuration": "default", "start_s": 40.0, "ready_s": 41.0, "stop_s": 50.0})
    page = Page(report_html.render(document))
    assert len(page.find("text", class_="row-label")) == 3
    assert len(page.find("g", class_="span")) == 4


def test_no_containers() -> None:
    text = report_html.render(report(timeline={"started": "2026-12-02T09:59:00.000Z", "containers": []}))
    assert "This certification started no container." in text
    assert "<svg" not in text


@pytest.mark.parametrize(("span", "step"), [(34.0, 5.0), (0.4, 0.05), (120.0, 20.0), (7.0, 1.0)])
def test_nice_step(span: float, step: float) -> None:
    assert report_html.nice_step(span) == pytest.approx(step)


def test_the_real_document_renders(certification: FakeCertification, tmp_path: Path) -> None:
    from conformance import report as report_module
    from conformance.registry import clauses

    outcomes = outcomes_of(certification, [c.id for c in clauses() if c.id not in ("SRV-9", "SRV-13")])
    path = report_module.write(tmp_path, certification, outcomes)  # type: ignore[arg-type]
    page = Page(report_module.html_path(path).read_text())
    assert page.find("section", id="verdict")[0][1]["data-verdict"] == "failed"
    assert page.find("tr", data_clause="IMG-2")[0][1]["data-verdict"] == "fail"
    assert page.find("article", data_clause="IMG-2")
    assert {s[1]["data-role"] for s in page.find("g", class_="span")} == {"training", "serving"}
