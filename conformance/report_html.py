"""The conformance report as one self-contained HTML page: :func:`render` turns the JSON report into it.

The page loads nothing: its style is inline and its chart is an inline SVG, so it opens from a file, from
a CI artifact or from an e-mail, offline. Every text from the report is escaped; ANSI colour codes and
other control characters (container logs are full of them) are stripped first.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

VERDICTS = ("pass", "fail", "warn", "skip", "error")
VERDICT_WORDS = {"pass": "passed", "fail": "failed", "warn": "warned", "skip": "skipped", "error": "check error"}
STYLE = resources.files("conformance").joinpath("report.css").read_text(encoding="utf-8")
"""The page's style sheet, inlined into every page (kept as a package data file)."""
BANNERS = {
    "certified": ("Certified", "Every MUST and SHOULD clause the image was judged on passed."),
    "failed": ("Failed", "The image breaks at least one MUST or SHOULD clause: see the failures below."),
    "could-not-judge": (
        "Could not judge",
        "A check crashed (a harness or engine problem, not a verdict on the image), or the host was too busy to "
        "measure a clause fairly, so the certification is incomplete: see the clauses below.",
    ),
}

# CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone ESC-letter pairs.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

CHART_WIDTH = 960
LABEL_WIDTH = 190
ROW_HEIGHT = 30
BAR_HEIGHT = 16
AXIS_HEIGHT = 34


def clean(text: object) -> str:
    """``text`` without ANSI escape sequences or control characters (newlines and tabs stay), escaped."""
    plain = _ANSI.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    return html.escape(_CONTROL.sub("", plain), quote=True)


def overall(report: Mapping[str, Any]) -> str:
    """``certified``, ``failed`` (a clause failed), or ``could-not-judge`` (no clause failed, but a check
    crashed or no clause ran at all), as scripts/gate.sh tells its exit codes apart."""
    verdicts = [c.get("verdict") for c in report.get("clauses", [])]
    if "fail" in verdicts:
        return "failed"
    if "error" in verdicts or not verdicts or any(c.get("not_judged") for c in report.get("clauses", [])):
        return "could-not-judge"
    return "certified" if report.get("verdict") == "passed" else "failed"


def render(report: Mapping[str, Any]) -> str:
    """The whole page for one image's JSON report (schema: conformance/report.schema.json)."""
    image = report.get("image", {})
    title = f"{overall(report).replace('-', ' ')}: {image.get('reference', '?')} - sagemaker-conformance"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{clean(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        _header(report),
        _banner(report),
        _clause_table(report.get("clauses", [])),
        _failures(report.get("clauses", [])),
        _measurements(report),
        _timeline(report.get("timeline") or {}),
        _footer(report),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _header(report: Mapping[str, Any]) -> str:
    image = report.get("image", {})
    engine = report.get("engine", {})
    facts = [
        ("Image ID", image.get("id", "?")),
        ("Digests", ", ".join(image.get("digests", [])) or "none (never pushed)"),
        ("Platform", image.get("platform", "?")),
        ("Profile", report.get("profile", "?")),
        ("Test-dir", report.get("test_dir", "?")),
        # Reports before schema 1.3 name no engine: they were all Docker's.
        (
            f"{engine.get('name', 'Docker')} engine",
            f"{engine.get('version', '?')} (API {engine.get('api_version', '?')})",
        ),
        ("Containers started", report.get("containers_started", 0)),
        ("Report written", report.get("created", "?")),
    ]
    rows = "".join(f"<dt>{clean(name)}</dt><dd>{clean(value)}</dd>" for name, value in facts)
    return (
        '<header id="summary">'
        '<p class="kicker">SageMaker bring-your-own-container conformance report</p>'
        f'<h1 class="image">{clean(image.get("reference", "?"))}</h1>'
        f'<dl class="facts">{rows}</dl>'
        "</header>"
    )


def _counts(clauses: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {v: sum(c.get("verdict") == v for c in clauses) for v in VERDICTS}


def _banner(report: Mapping[str, Any]) -> str:
    state = overall(report)
    word, meaning = BANNERS[state]
    counts = _counts(report.get("clauses", []))
    chips = "".join(
        f'<span class="chip v-{v}" data-verdict="{v}"><b>{counts[v]}</b> {VERDICT_WORDS[v]}</span>'
        for v in VERDICTS
        if counts[v] or v in ("pass", "fail")
    )
    return (
        f'<section id="verdict" class="banner {state}" data-verdict="{state}">'
        f'<div class="verdict-word">{word}</div>'
        f'<p class="verdict-meaning">{clean(meaning)}</p>'
        f'<div class="chips">{chips}</div>'
        "</section>"
    )


def _clause_table(clauses: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for clause in clauses:
        verdict = str(clause.get("verdict", "?"))
        cid = clean(clause.get("id", "?"))
        reason = clean(clause.get("reason", ""))
        if clause.get("evidence") or clause.get("failure"):
            reason += f' <a class="more" href="#failure-{cid}">details</a>'
        notes = "".join(f'<div class="note">{clean(n)}</div>' for n in clause.get("notes", []))
        rows.append(
            f'<tr id="clause-{cid}" class="clause v-{clean(verdict)}" data-clause="{cid}" '
            f'data-verdict="{clean(verdict)}">'
            f'<td class="cid">{cid}</td>'
            f'<td class="level">{clean(clause.get("level", "?"))}</td>'
            f'<td class="title">{clean(clause.get("title", ""))}</td>'
            f'<td class="verdict"><span class="pill v-{clean(verdict)}">{clean(VERDICT_WORDS.get(verdict, verdict))}'
            "</span></td>"
            f'<td class="reason">{reason}{notes}</td>'
            "</tr>"
        )
    body = "".join(rows) or '<tr><td colspan="5" class="empty">No clause was run.</td></tr>'
    return (
        '<section id="clauses"><h2>Clauses</h2>'
        '<table class="clauses"><thead><tr><th>Clause</th><th>Level</th><th>Rule</th><th>Verdict</th>'
        f"<th>Reason</th></tr></thead><tbody>{body}</tbody></table></section>"
    )


def _pre(text: object, cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f"<pre{attribute}>{clean(text)}</pre>"


def _link(source: str) -> str:
    if re.match(r"https?://", source):
        return f'<a href="{clean(source)}">{clean(source)}</a>'
    return clean(source)


def _failure(clause: Mapping[str, Any]) -> str:
    verdict = str(clause.get("verdict"))
    cid = clean(clause.get("id", "?"))
    head = (
        f'<h3><span class="pill v-{clean(verdict)}">{clean(VERDICT_WORDS.get(verdict, verdict))}</span> '
        f'{cid} <span class="level">[{clean(clause.get("level", "?"))}]</span> {clean(clause.get("title", ""))}</h3>'
    )
    failure = clause.get("failure")
    if not failure:
        # A report from a harness that kept only the rendered text.
        return f'<article id="failure-{cid}" class="failure v-{clean(verdict)}" data-clause="{cid}">{head}' + (
            _pre(clause.get("evidence", ""), "evidence") + "</article>"
        )
    parts = [head]
    violations = failure.get("violations", [])
    for number, violation in enumerate(violations, 1):
        label = f"{number}. " if len(violations) > 1 else ""
        parts.append(f'<div class="violation"><p class="summary">{label}{clean(violation.get("summary", ""))}</p>')
        parts.append(
            '<dl class="expected-actual">'
            f'<dt>Expected</dt><dd class="expected">{clean(violation.get("expected", ""))}</dd>'
            f'<dt>Actual</dt><dd class="actual">{clean(violation.get("actual", ""))}</dd>'
            "</dl>"
        )
        for item in violation.get("evidence", []):
            parts.append(f"<h4>{clean(item.get('name', ''))}</h4>{_pre(item.get('text', ''), 'evidence')}")
        parts.append("</div>")
    for log in failure.get("logs", []):
        parts.append(
            f'<details class="logs" open><summary>{clean(log.get("title", "logs"))} (last lines)</summary>'
            f"{_pre(log.get('text', ''), 'log')}</details>"
        )
    commands = failure.get("reproduce", [])
    if commands:
        parts.append(f"<h4>Reproduce with</h4>{_pre(chr(10).join(commands), 'reproduce')}")
    if failure.get("source"):
        parts.append(f'<p class="source">Contract: {_link(str(failure["source"]))}</p>')
    return (
        f'<article id="failure-{cid}" class="failure v-{clean(verdict)}" data-clause="{cid}">{"".join(parts)}</article>'
    )


def _failures(clauses: Sequence[Mapping[str, Any]]) -> str:
    order = {"fail": 0, "error": 1, "warn": 2}
    shown = sorted(
        (c for c in clauses if c.get("verdict") in order and (c.get("failure") or c.get("evidence"))),
        key=lambda c: order[str(c.get("verdict"))],
    )
    body = "".join(_failure(c) for c in shown) or '<p class="empty">No failures, check errors or warnings.</p>'
    return f'<section id="failures"><h2>Failures, check errors and warnings</h2>{body}</section>'


def _figure(name: str, value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = f"{value:g}"
        return f"{number} s" if name.endswith("_seconds") else number
    return str(value)


def _measurements(report: Mapping[str, Any]) -> str:
    figures = report.get("measurements", {})
    by = {
        name: [str(c.get("id")) for c in report.get("clauses", []) if name in c.get("measurements", {})]
        for name in figures
    }
    rows = "".join(
        f'<tr data-measurement="{clean(name)}"><td class="name">{clean(name)}</td>'
        f'<td class="value">{clean(_figure(name, figures[name]))}</td><td>{clean(", ".join(by[name]))}</td></tr>'
        for name in sorted(figures)
    )
    if not rows:
        return (
            '<section id="measurements"><h2>Measured figures</h2><p class="empty">Nothing was measured.</p></section>'
        )
    return (
        '<section id="measurements"><h2>Measured figures</h2><table class="figures">'
        f"<thead><tr><th>Figure</th><th>Value</th><th>Measured by</th></tr></thead><tbody>{rows}</tbody></table>"
        "</section>"
    )


def nice_step(span: float, ticks: int = 8) -> float:
    """A round tick interval (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _fmt(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _rows(containers: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, list[Mapping[str, Any]]]]:
    """The chart's rows: one per (role, configuration), in order of first start; a replaced container shares
    its configuration's row."""
    rows: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for container in containers:
        rows.setdefault((str(container.get("role")), str(container.get("configuration"))), []).append(container)
    return [(role, configuration, spans) for (role, configuration), spans in rows.items()]


def _timeline(timeline: Mapping[str, Any]) -> str:
    containers = [c for c in timeline.get("containers", []) if c.get("start_s") is not None]
    heading = '<section id="timeline"><h2>Containers</h2>'
    if not containers:
        return heading + '<p class="empty">This certification started no container.</p></section>'
    times = [float(c[k]) for c in containers for k in ("start_s", "ready_s", "stop_s") if c.get(k) is not None]
    end = max(times) or 1.0
    step = nice_step(end)
    axis_end = math.ceil(end / step) * step
    rows = _rows(containers)
    # Room for the longest row label (about 7 px a character at the labels' size), within bounds.
    longest = max(len(f"{role} · {configuration}") for role, configuration, _ in rows)
    label_width = min(max(LABEL_WIDTH, 7 * longest + 24), CHART_WIDTH // 2)
    plot = CHART_WIDTH - label_width - 20
    scale = plot / axis_end

    def x(seconds: float) -> float:
        return round(label_width + seconds * scale, 2)

    height = AXIS_HEIGHT + len(rows) * ROW_HEIGHT + 8
    svg = [
        f'<svg class="timeline" role="img" aria-label="Timeline of the containers the certification started" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" '
        f'height="{height}" data-seconds-per-px="{1 / scale:.6g}">'
    ]
    tick = 0.0
    while tick <= axis_end + step / 2:
        svg.append(
            f'<line class="grid" x1="{x(tick)}" y1="{AXIS_HEIGHT - 6}" x2="{x(tick)}" y2="{height - 4}"/>'
            f'<text class="tick" x="{x(tick)}" y="{AXIS_HEIGHT - 12}" text-anchor="middle">{tick:g} s</text>'
        )
        tick += step
    for index, (role, configuration, spans) in enumerate(rows):
        top = AXIS_HEIGHT + index * ROW_HEIGHT
        if index % 2:
            svg.append(f'<rect class="stripe" x="0" y="{top}" width="{CHART_WIDTH}" height="{ROW_HEIGHT}"/>')
        svg.append(
            f'<text class="row-label" x="{label_width - 10}" y="{top + ROW_HEIGHT / 2 + 4}" text-anchor="end">'
            f"{clean(role)} · {clean(configuration)}</text>"
        )
        y = top + (ROW_HEIGHT - BAR_HEIGHT) / 2
        for span in spans:
            svg.append(_bar(span, x, y, end))
    svg.append("</svg>")
    legend = (
        '<p class="legend"><span class="key starting"></span> starting (until /ping answered 200, or the run began)'
        '<span class="key ready"></span> ready / running <span class="key never"></span> never ready '
        "(as the empty-model configuration should be)"
        '<span class="key open"></span> not seen to stop</p>'
    )
    table_rows = "".join(
        f'<tr class="container" data-role="{clean(c.get("role"))}" '
        f'data-configuration="{clean(c.get("configuration"))}">'
        f"<td>{clean(c.get('role'))}</td><td>{clean(c.get('configuration'))}</td>"
        + "".join(
            f"<td>{_fmt(float(c[k])) if c.get(k) is not None else '-'}</td>" for k in ("start_s", "ready_s", "stop_s")
        )
        + "</tr>"
        for c in containers
    )
    started = clean(timeline.get("started", "?"))
    return (
        heading
        + f'<p class="hint">Seconds since the certification began ({started}).</p>'
        + '<div class="chart">'
        + "".join(svg)
        + "</div>"
        + legend
        + '<table class="containers"><thead><tr><th>Role</th><th>Configuration</th><th>Started</th><th>Ready</th>'
        + f"<th>Stopped</th></tr></thead><tbody>{table_rows}</tbody></table></section>"
    )


def _bar(span: Mapping[str, Any], x: Any, y: float, end: float) -> str:
    start = float(span["start_s"])
    ready = span.get("ready_s")
    stop = span.get("stop_s")
    finish = float(stop) if stop is not None else end
    role, configuration = clean(span.get("role")), clean(span.get("configuration"))
    tip = f"{span.get('role')} '{span.get('configuration')}': started at {_fmt(start)}"
    tip += (
        f", ready at {_fmt(float(ready))} (after {_fmt(float(ready) - start)})"
        if ready is not None
        else ", never ready"
    )
    tip += f", stopped at {_fmt(finish)}" if stop is not None else ", not seen to stop"
    ready_at = "" if ready is None else f"{float(ready):g}"
    stop_at = "" if stop is None else f"{finish:g}"
    data = (
        f'data-role="{role}" data-configuration="{configuration}" data-start="{start:g}" '
        f'data-ready="{ready_at}" data-stop="{stop_at}"'
    )
    parts = [f'<g class="span" {data}><title>{clean(tip)}</title>']

    def rect(cls: str, left: float, right: float) -> str:
        width = max(x(right) - x(left), 1.5)  # a zero-length phase still shows
        return f'<rect class="{cls}" x="{x(left)}" y="{y}" width="{round(width, 2)}" height="{BAR_HEIGHT}" rx="3"/>'

    if ready is None:
        parts.append(rect("bar never", start, finish))
    else:
        parts.append(rect("bar starting", start, min(float(ready), finish)))
        parts.append(rect("bar ready", float(ready), finish))
        parts.append(
            f'<line class="ready-mark" x1="{x(float(ready))}" y1="{y - 3}" x2="{x(float(ready))}" '
            f'y2="{y + BAR_HEIGHT + 3}"/>'
        )
    if stop is None:
        parts.append(f'<rect class="open-end" x="{x(finish) - 4}" y="{y}" width="8" height="{BAR_HEIGHT}"/>')
    parts.append("</g>")
    return "".join(parts)


def _footer(report: Mapping[str, Any]) -> str:
    tool = report.get("tool", {})
    return (
        f"<footer>Written by {clean(tool.get('name', 'sagemaker-conformance'))} {clean(tool.get('version', ''))}, "
        f"report schema {clean(report.get('schema_version', '?'))}. The same data is in the JSON report beside this "
        "page.</footer>"
    )
