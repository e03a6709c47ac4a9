"""The broken-image catalogue (catalogue.toml next to this file): reading it, certifying its images, judging.

Shared by tests/docker/test_catalogue.py (which asserts) and scripts/catalogue-table.py (which prints the
table), so that both apply exactly the same rule:

* the entry's clause fails, and its evidence names the clause and every word of ``evidence``;
* every clause of ``also_fails`` fails too (a consequence the defect makes unavoidable);
* every other clause passes, or is skipped because it depends on a clause that failed in the same run
  (the report's ``depends_on`` names it), or because it judges a capability the image does
  not claim (a CONDITIONAL clause: "the image does not claim the capability ...");
* no clause is a check error, and none is a warning;
* a clause of ``also_skips`` may be skipped: the defect leaves it nothing to judge;
* a twin of an ecosystem corpus image (``base = "smc-eco/..."``) keeps that image's pinned verdicts
  (tests/ecosystem/corpus.toml) for every other clause: its own skips, waivers and real defects;
* an image built on a passing fixture (``base = "smc-good/..."``, tests/good_images) is judged like one on the
  reference image: that fixture passes every clause.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from conformance.report import json_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CATALOGUE = HERE / "catalogue.toml"
DEFAULT_TEST_DIR = "test-dirs/decision_trees"
BASE_IMAGE = "sagemaker-conformance/decision_trees:latest"
"""What every catalogue image is built on (SMC_BROKEN_BASE overrides it, as for the build script)."""
REFERENCE_IMAGES = {
    "sagemaker-conformance/decision_trees:latest": "test-dirs/decision_trees",
    "sagemaker-conformance/catboost:latest": "test-dirs/catboost",
    "sagemaker-conformance/text_generation:latest": "test-dirs/text_generation",
}
BROKEN_OPTIONS = ("--max-examples=10", "--startup-timeout=20")
"""Bounds for broken images: 10 generated payloads per property check, and 20 s for a server to answer
/ping (the reference images answer in about 1 s), because a server that never becomes healthy makes the
harness wait the whole start-up budget for every serving configuration it tries."""
RUN_TIMEOUT_S = 1200
REPORTS = ROOT / "reports" / "catalogue"
"""Where the latest report of every catalogue and reference image is kept, for scripts/catalogue-table.py."""


@dataclass(frozen=True)
class Entry:
    name: str
    clause: str
    description: str
    evidence: tuple[str, ...]
    also_fails: Mapping[str, str]
    test_dir: str = DEFAULT_TEST_DIR
    architecture: str | None = None
    requires: tuple[str, ...] = ()
    also_skips: Mapping[str, str] = field(default_factory=dict)
    """Clauses the defect leaves nothing to judge on (a run that ends before SIGTERM), with the reason."""
    base: str | None = None
    """The image this one is built on, when not the decision-tree reference image: an ecosystem corpus
    image (tests/ecosystem/corpus.toml), whose pinned verdicts the entry inherits for its other clauses."""

    @property
    def image(self) -> str:
        return f"smc-broken/{self.name}:latest"

    @property
    def failing(self) -> set[str]:
        return {self.clause, *self.also_fails}


def load(path: Path = CATALOGUE) -> list[Entry]:
    with path.open("rb") as f:
        images = tomllib.load(f)["image"]
    entries = []
    for raw in images:
        also = {item["clause"]: item["reason"] for item in raw.get("also_fails", [])}
        entries.append(Entry(
            name=raw["name"], clause=raw["clause"], description=raw["description"],
            evidence=tuple(raw.get("evidence", ())), also_fails=also,
            test_dir=raw.get("test_dir", DEFAULT_TEST_DIR), architecture=raw.get("architecture"),
            requires=tuple(raw.get("requires", ())), base=raw.get("base"),
            also_skips={item["clause"]: item["reason"] for item in raw.get("also_skips", [])},
        ))  # fmt: skip
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate names {duplicates}")
    return entries


# --- the machine ---------------------------------------------------------------------------------
def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@cache
def engine_cpus() -> int:
    done = docker("info", "--format", "{{.NCPU}}")
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip().isdigit() else 0


@cache
def container_egress(image: str) -> str | None:
    """None when a container on the default network reaches https://pypi.org; else why not."""
    probe = "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=10).close()"
    try:
        done = docker("run", "--rm", "--entrypoint", "python3", image, "-c", probe, timeout=60)
    except subprocess.TimeoutExpired:
        return "a container could not reach https://pypi.org within 60 s"
    if done.returncode != 0:
        return f"a container cannot reach https://pypi.org: {done.stderr.strip().splitlines()[-1:]}"
    return None


def unmet_requirement(entry: Entry) -> str | None:
    """Why this machine cannot show the entry's defect, or None."""
    for requirement in entry.requires:
        if requirement == "egress":
            why = container_egress(base_image(entry))
            if why:
                return f"needs egress to show that serving breaks without it, but {why}"
        elif match := re.fullmatch(r"cpus(>=|!=)(\d+)", requirement):
            cpus, wanted = engine_cpus(), int(match.group(2))
            if (match.group(1) == ">=" and cpus < wanted) or (match.group(1) == "!=" and cpus == wanted):
                return f"needs an engine with cpus{match.group(1)}{wanted}; this one has {cpus}"
        else:
            raise ValueError(f"{entry.name}: unknown requirement {requirement!r}")
    return None


def base_image(entry: Entry | None = None) -> str:
    if entry is not None and entry.base:
        return entry.base
    return os.environ.get("SMC_BROKEN_BASE") or BASE_IMAGE


def layers(reference: str) -> list[str] | None:
    done = docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", reference)
    return json.loads(done.stdout) if done.returncode == 0 else None


def image_problem(entry: Entry) -> str | None:
    """Why the entry's image cannot be certified as it is (missing, or built on an older base), or None."""
    build = "scripts/build-broken-images.sh " + entry.name
    mine, base = layers(entry.image), layers(base_image(entry))
    if mine is None:
        return f"{entry.image} is not built: run {build}"
    if base is None:
        builder = "scripts/build-images.sh decision_trees"
        if entry.base:
            good = entry.base.startswith("smc-good/")
            builder = "tests/good_images/build.sh" if good else "scripts/build-ecosystem-images.sh"
        return f"{base_image(entry)} is not built: run {builder}"
    if mine[: len(base)] != base:
        return f"{entry.image} was built on an older {base_image(entry)}: run {build}"
    return None


# --- certifying ----------------------------------------------------------------------------------
@dataclass
class Run:
    reference: str
    test_dir: str
    report: dict[str, Any] | None
    seconds: float
    returncode: int
    output: str

    @property
    def clauses(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in (self.report or {}).get("clauses", [])}


def certify(reference: str, test_dir: str, workdir: Path, options: Sequence[str] = ()) -> Run:
    """One harness run, exactly as a user runs it: ``python -m pytest --image=... --test-dir=...``."""
    reports, basetemp = workdir / "reports", workdir / "basetemp"
    command = [
        sys.executable, "-m", "pytest", f"--image={reference}", f"--test-dir={test_dir}", "-p", "no:cacheprovider",
        f"--conformance-report={reports}", f"--basetemp={basetemp}", "-q", *options,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # no outer addopts or xdist state
    env["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        returncode, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as error:
        returncode, output = -1, f"the harness run took over {RUN_TIMEOUT_S} s\n{error.stdout or ''}"
    seconds = time.monotonic() - started
    path = json_path(reports, reference)
    report = json.loads(path.read_text()) if path.is_file() else None
    run = Run(reference, test_dir, report, seconds, returncode, output)
    keep(run)
    shutil.rmtree(basetemp, ignore_errors=True)
    return run


def keep(run: Run) -> None:
    """Save the run's report (and its wall time) under reports/catalogue for scripts/catalogue-table.py."""
    if run.report is None:
        return
    REPORTS.mkdir(parents=True, exist_ok=True)
    saved = dict(run.report, catalogue_run={"seconds": round(run.seconds, 1), "test_dir": run.test_dir})
    target = json_path(REPORTS, run.reference)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(saved, indent=2) + "\n")
    partial.replace(target)


def saved_report(reference: str) -> dict[str, Any] | None:
    path = json_path(REPORTS, reference)
    return json.loads(path.read_text()) if path.is_file() else None


# --- judging -------------------------------------------------------------------------------------
@dataclass
class Judgement:
    verdict: str
    """The harness's verdict on the entry's own clause (or "missing")."""
    unexpected: list[str] = field(default_factory=list)
    """Every way the run differs from the catalogue's expectation, one line each."""

    @property
    def ok(self) -> bool:
        return not self.unexpected


MATRIX = os.environ.get("SMC_CATALOGUE_MATRIX") == "1"
"""Certify each broken image on every clause (the full matrix: ``tox -e matrix``), instead of on the clauses it
breaks and what they need (``--clause``), which is what the suite does by default."""


def options(entry: Entry, *, matrix: bool = MATRIX) -> tuple[str, ...]:
    """The harness options for an entry: the catalogue's bounds, its own clauses (``--clause``: the harness adds
    what they need) unless ``matrix``, then a twin's corpus image's own options (which win: a container that checks
    its requirements at start-up needs its own start-up budget)."""
    narrow = () if matrix else tuple(f"--clause={clause}" for clause in sorted(entry.failing))
    return (*BROKEN_OPTIONS, *narrow, *_corpus_image(entry).get("options", ()))


def _corpus_image(entry: Entry) -> dict[str, Any]:
    if not entry.base:
        return {}
    sys.path.insert(0, str(ROOT / "tests" / "ecosystem"))
    import corpus  # tests/ecosystem/corpus.py

    image = corpus.by_image(entry.base)
    if image is None:
        return {}
    return {"options": image.options, "verdicts": corpus.accepted_verdicts(entry.base)}


def inherited(entry: Entry) -> dict[str, set[str]]:
    """For a twin of a corpus image: each clause's verdicts pinned for that image (tests/ecosystem/corpus.toml),
    which the twin keeps for every clause it does not break (a serve-only image skips training, say)."""
    verdicts: dict[str, set[str]] = _corpus_image(entry).get("verdicts", {})
    return verdicts


def judge(entry: Entry, report: Mapping[str, Any]) -> Judgement:
    """The catalogue's rule (module docstring) applied to one report."""
    clauses = {c["id"]: c for c in report.get("clauses", [])}
    own = clauses.get(entry.clause)
    judgement = Judgement(own["verdict"] if own else "missing")
    note = judgement.unexpected.append
    if own is None:
        note(f"{entry.clause}: not in the report")
    elif own["verdict"] != "fail":
        note(f"{entry.clause}: {own['verdict']} instead of fail ({_why(own)})")
    else:
        evidence = own.get("evidence") or ""
        missing = [w for w in (entry.clause, *entry.evidence) if w.lower() not in evidence.lower()]
        if missing:
            note(f"{entry.clause}: the evidence does not mention {', '.join(repr(w) for w in missing)}")
    for clause_id, reason in entry.also_fails.items():
        verdict = clauses.get(clause_id, {}).get("verdict", "missing")
        if verdict != "fail":
            note(f"{clause_id}: {verdict}, but it must fail too ({reason})")
    own_verdicts = inherited(entry)
    for clause_id, clause in clauses.items():
        if clause_id in entry.failing:
            continue
        verdict = clause["verdict"]
        if verdict == "pass" or verdict in own_verdicts.get(clause_id, ()):
            continue
        if verdict == "skip" and clause_id in entry.also_skips:
            continue
        if verdict == "skip":
            depends = clause.get("depends_on")
            if depends and clauses.get(depends, {}).get("verdict") == "fail":
                continue
            if clause.get("level") == "CONDITIONAL" and not depends:
                continue  # a capability the image (or its test-dir) does not claim: nothing to judge
            note(f"{clause_id}: skipped without a genuine dependency ({_why(clause)})")
            continue
        note(f"{clause_id}: {verdict} ({_why(clause)})")
    return judgement


def reference_problems(report: Mapping[str, Any]) -> list[str]:
    """A reference image must give no failure, warning or check error; a skip must say why."""
    problems = []
    for clause in report.get("clauses", []):
        if clause["verdict"] in ("fail", "error", "warn"):
            problems.append(f"{clause['id']}: {clause['verdict']} ({_why(clause)})")
        elif clause["verdict"] == "skip" and not (clause.get("reason") or "").strip():
            problems.append(f"{clause['id']}: skipped without a reason")
    return problems


def _why(clause: Mapping[str, Any]) -> str:
    text = clause.get("reason") or ""
    if clause.get("verdict") in ("fail", "error") and clause.get("evidence"):
        # The headline is the clause title; the first violation's summary says what went wrong.
        lines = [line.strip() for line in clause["evidence"].splitlines() if line.strip()]
        text = lines[1] if len(lines) > 1 else text
    return " ".join(text.split())[:300]
