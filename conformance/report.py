"""Reports: the terminal summary and the versioned JSON conformance report (one per image), with its HTML page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import REPORT_SCHEMA_VERSION, __version__, report_html
from conformance.failures import BODY_LINES, LOG_LINES, ConformanceFailure, head, tail
from conformance.runner import ERROR, FAIL, PASS, SKIP, WARN, Outcome
from conformance.sharing import Certification

_MARK = {PASS: "pass", FAIL: "FAIL", WARN: "warn", SKIP: "skip", ERROR: "ERROR"}


def verdict(outcomes: Sequence[Outcome]) -> str:
    """The image's overall verdict: failed when any MUST or SHOULD clause failed (or a check crashed); not judged
    when none did but the host was too busy to measure a clause fairly (NotJudged); passed otherwise."""
    if any(o.verdict in (FAIL, ERROR) for o in outcomes):
        return "failed"
    return "not judged" if any(o.not_judged for o in outcomes) else "passed"


def summary_lines(reference: str, outcomes: Sequence[Outcome], certification: Certification | None) -> list[str]:
    counts = {v: sum(o.verdict == v for o in outcomes) for v in (PASS, FAIL, WARN, SKIP, ERROR)}
    started = f", {certification.containers_started} containers" if certification else ""
    head = (
        f"{reference}: {verdict(outcomes).upper()} - {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[WARN]} warned, {counts[SKIP]} skipped{started}"
    )
    if counts[ERROR]:
        head += f", {counts[ERROR]} check errors"
    unjudged = [o.clause.id for o in outcomes if o.not_judged]
    if unjudged:
        head += f", not judged on a busy host: {', '.join(unjudged)}"
    cells = [f"{o.clause.id}:{_MARK[o.verdict]}" for o in outcomes]
    rows = [" ".join(cells[i : i + 8]) for i in range(0, len(cells), 8)]
    lines = [head, *(f"  {row}" for row in rows)]
    if certification is not None and certification.measurements:
        figures = ", ".join(f"{k}={v:g}" for k, v in sorted(certification.measurements.items()))
        lines.append(f"  measured: {figures}")
    return lines


def document(certification: Certification, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The JSON report (schema: conformance/report.schema.json)."""
    image = certification.image
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "sagemaker-conformance", "version": __version__},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "image": {
            "reference": image.reference,
            "id": image.id,
            "digests": list(image.digests),
            "platform": image.platform,
        },
        "test_dir": str(certification.test_dir.root),
        "profile": certification.policy.profile,
        "engine": {
            "name": certification.engine.name,
            "version": certification.engine.version,
            "api_version": certification.engine.api_version,
        },
        "verdict": verdict(outcomes),
        "containers_started": certification.containers_started,
        "measurements": dict(certification.measurements),
        "timeline": certification.timeline.document(),
        "clauses": [
            {
                "id": o.clause.id,
                "level": o.clause.level.value,
                "title": o.clause.title,
                "verdict": o.verdict,
                "reason": o.reason,
                "depends_on": o.depends_on,
                "not_judged": o.not_judged,
                "measurements": o.measurements,
                "notes": o.notes,
                "evidence": o.failure.render() if o.failure else None,
                "failure": _failure(o.failure) if o.failure else None,
            }
            for o in outcomes
        ],
    }


def _failure(failure: ConformanceFailure) -> dict[str, Any]:
    """The failure's parts, for readers that lay them out (the HTML page): what ``evidence`` renders as text."""
    commands = list(failure.reproduce)
    for violation in failure.violations:
        commands += [c for c in violation.reproduce if c not in commands]
    return {
        "violations": [
            {
                "summary": v.summary,
                "expected": v.expected,
                "actual": v.actual,
                "evidence": [{"name": name, "text": head(text, BODY_LINES)} for name, text in v.evidence],
            }
            for v in failure.violations
        ],
        "logs": [{"title": s.title, "text": tail(s.text, LOG_LINES)} for s in failure.sections],
        "reproduce": commands,
        "source": failure.source,
    }


def slug(reference: str) -> str:
    """An image reference as a file name: the name of its report (and of its stage folder)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", reference)


def json_path(directory: Path, reference: str) -> Path:
    """Where :func:`write` puts the JSON report of the image ``reference`` in ``directory``."""
    return directory / f"{slug(reference)}.json"


def write(directory: Path, certification: Certification, outcomes: Sequence[Outcome]) -> Path:
    """Write the JSON report and, beside it, its HTML page (same name, ``.html``); returns the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = json_path(directory, certification.image.reference)
    doc = document(certification, outcomes)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    html_path(path).write_text(report_html.render(doc), encoding="utf-8")
    return path


def html_path(json_path: Path) -> Path:
    """Where :func:`write` puts the HTML page of the JSON report at ``json_path``."""
    return json_path.with_suffix(".html")
