"""The HTML report in a real browser: a failing catalogue image, certified as a user would, opened in headless
Chromium (Debian's ``chromium``; scripts/ensure-chromium.sh installs it when missing).

The test drives the browser over the DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no
extra package), asserts on the page's DOM and computed styles, never on pixels, and saves a full-page
screenshot beside the report for a person to look at.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.report import html_path, json_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
import catalogue  # tests/broken_images/catalogue.py

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
ENTRY = next(e for e in catalogue.load() if e.name == "srv2-ping-500")
"""/ping answers 500 for ever: SRV-2 fails, and the harness still starts a training run and serving containers."""
WIDTH = 1100
REPLY_TIMEOUT_S = 60


class DevTools:
    """A headless Chromium driven over ``--remote-debugging-pipe``: JSON messages ending in NUL, sent on the
    browser's fd 3 and read from its fd 4."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        commands_r, self._commands = os.pipe()
        self._replies, replies_w = os.pipe()
        # The browser's ends move to its fds 3 and 4 through a shell (no preexec_fn: xdist workers have threads);
        # copied above 9 first so that moving one cannot overwrite the other.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_r, replies_w)]
        os.close(commands_r)
        os.close(replies_w)
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
        command += ["--disable-extensions", "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        wire = f'exec 3<&{high[0]} 4>&{high[1]} {high[0]}<&- {high[1]}>&-; exec "$@"'
        try:
            with log.open("wb") as stderr:
                self.process = subprocess.Popen(
                    ["bash", "-c", wire, "chromium", *command],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    pass_fds=high,
                )
        finally:
            for fd in high:
                os.close(fd)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            self.events.append(self._read())

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError(f"chromium sent nothing for {REPLY_TIMEOUT_S} s")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium closed its DevTools pipe (exit code {self.process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=20)
        except Exception:
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._commands)
            os.close(self._replies)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser's path; installed by scripts/ensure-chromium.sh on a machine without one."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-chromium.sh")], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/ensure-chromium.sh failed:\n{done.stderr[-3000:]}", pytrace=False)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[DevTools]:
    devtools = DevTools(chromium, tmp_path / "chromium-profile", tmp_path / "chromium.log")
    yield devtools
    devtools.close()


# What the test reads of the page, in the page (the page itself has no script).
PROBE = """(() => {
  const row = document.querySelector('tr.clause[data-clause="SRV-2"]');
  const failure = document.querySelector('article.failure[data-clause="SRV-2"]');
  const box = (e) => { const r = e.getBoundingClientRect(); return {width: r.width, height: r.height}; };
  return {
    title: document.title,
    verdict: document.querySelector('#verdict')?.dataset.verdict,
    verdictWord: document.querySelector('#verdict .verdict-word')?.textContent,
    failBackground: getComputedStyle(document.documentElement).getPropertyValue('--fail-bg').trim(),
    row: row && {
      verdict: row.dataset.verdict, text: row.innerText, box: box(row),
      background: getComputedStyle(row).backgroundColor, pill: row.querySelector('.pill')?.textContent,
    },
    failure: failure && {text: failure.innerText, box: box(failure)},
    spans: [...document.querySelectorAll('svg.timeline g.span')].map((g) => ({
      role: g.dataset.role, configuration: g.dataset.configuration,
      bars: [...g.querySelectorAll('rect.bar')].map((r) => box(r).width),
    })),
    rowLabels: [...document.querySelectorAll('svg.timeline text.row-label')].map((t) => t.textContent),
  };
})()"""


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def set_viewport(browser: DevTools, session: str, height: int) -> None:
    browser.call(
        "Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=height, deviceScaleFactor=1, mobile=False
    )


def test_failing_image_report_in_headless_chromium(browser: DevTools, tmp_path: Path) -> None:
    problem = catalogue.image_problem(ENTRY)
    if problem:
        pytest.fail(problem, pytrace=False)
    run = catalogue.certify(ENTRY.image, ENTRY.test_dir, tmp_path, catalogue.options(ENTRY))
    if run.report is None:
        pytest.fail(f"no JSON report (exit code {run.returncode}):\n{run.output[-4000:]}", pytrace=False)
    page = html_path(json_path(tmp_path / "reports", ENTRY.image))
    assert page.is_file(), f"no HTML report beside the JSON one:\n{run.output[-2000:]}"
    assert f"HTML report: {page}" in run.output

    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    browser.call("Network.enable", session)
    browser.call("Page.enable", session)
    set_viewport(browser, session, 900)
    browser.call("Page.navigate", session, url=page.as_uri())
    browser.wait_for("Page.loadEventFired", session)

    # Self-contained: the page's own file is the only thing the browser fetched to show it.
    requested = [
        e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested == [page.as_uri()]

    probe = browser.call("Runtime.evaluate", session, expression=PROBE, returnByValue=True)["result"]["value"]
    assert probe["verdict"] == "failed"
    assert probe["verdictWord"] == "Failed"
    assert probe["title"].startswith(f"failed: {ENTRY.image}")
    # The failing clause's row: present, shown, marked failed, and tinted as failures are.
    row = probe["row"]
    assert row is not None, "no row for SRV-2"
    assert row["verdict"] == "fail"
    assert row["pill"] == "failed"
    assert row["box"]["height"] > 0
    assert row["background"] == rgb(probe["failBackground"])
    assert "SRV-2" in row["text"]
    assert "MUST" in row["text"]
    # Its failure, laid out: expected, actual, the container's logs, how to reproduce.
    failure = probe["failure"]
    assert failure is not None, "no failure block for SRV-2"
    assert failure["box"]["height"] > 0
    for part in ("Expected", "Actual", "logs", "REPRODUCE WITH", "docker run"):
        assert part in failure["text"], part
    # The timeline shows every container the certification started, each bar drawn with a width.
    containers = run.report["timeline"]["containers"]
    assert containers, "the JSON report records no container"
    assert [(s["role"], s["configuration"]) for s in probe["spans"]] == [
        (c["role"], c["configuration"]) for c in containers
    ]
    assert ("training", "default") in {(s["role"], s["configuration"]) for s in probe["spans"]}
    assert ("serving", "default") in {(s["role"], s["configuration"]) for s in probe["spans"]}
    assert all(width > 0 for s in probe["spans"] for width in s["bars"])
    assert "serving · default" in probe["rowLabels"]
    serving = next(c for c in containers if c["role"] == "serving" and c["configuration"] == "default")
    assert serving["ready_s"] is None, "/ping never answered 200: the container was never ready"
    assert serving["stop_s"] is not None

    # A full-page screenshot beside the report, for a person (never compared: the assertions are above).
    height = browser.call("Page.getLayoutMetrics", session)["cssContentSize"]["height"]
    set_viewport(browser, session, int(height))
    shot = browser.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
    screenshot = page.with_suffix(".png")
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
