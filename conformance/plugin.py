"""The pytest plugin: ``pytest --image=IMAGE --test-dir=DIR`` certifies an image clause by clause.

One test per (image, clause), with the image and the clause ID and level in the test id. Each
image's containers are started once, shared by its checks, and removed at the end of the run, on
failure and on Ctrl-C alike (everything carries the run's label).
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from conformance import __version__, contract, report
from conformance.failures import ConformanceFailure, HarnessError
from conformance.graph import Graph
from conformance.options import PROPERTY_BUDGET_S, Options, concurrency
from conformance.registry import Clause, Level, Phase, clauses, with_needs
from conformance.runner import ERROR, FAIL, SKIP, WARN, Outcome
from conformance.sharing import Certification
from conformance.targets import Engine
from conformance.targets.results import ImageInfo
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir

SUITE = Path(__file__).with_name("test_conformance.py")

IMAGE_HELP = "Image to certify (repeatable: the suite runs once per image). Never pulled."
TEST_DIR_HELP = (
    "Test-dir for the images: one for all, or one per --image in order. "
    "Defaults to test-dirs/<name> under the rootdir (or the current folder) for this project's own images."
)
STARTUP_HELP = (
    f"Seconds the server may take to answer 200 on /ping (default {contract.STARTUP_BUDGET_S:g}; SageMaker: 240)."
)
TRAIN_TIMEOUT_HELP = "Seconds a training run may take before it counts as hung (default 600)."
PLATFORM_HELP = f"Platform the image must be built for (default {contract.DEFAULT_PLATFORM})."
EXAMPLES_HELP = "Generated payloads per property check (SRV-4, SRV-7, SRV-8; default 25; 0 turns generation off)."
PROPERTY_BUDGET_HELP = (
    f"Seconds each property check may spend on generated payloads, whatever --max-examples says (default "
    f"{PROPERTY_BUDGET_S:g}); the report says how many ran."
)
CONCURRENCY_HELP = (
    "Containers that may be starting or training at once, per image (default: one per CPU of the engine). The "
    "certification starts what the checks will need ahead of them, up to this many at a time."
)
CLAUSE_HELP = (
    "Certify only this clause and the clauses it needs (repeatable; e.g. --clause SRV-9). Starts only the containers "
    "they use. -k selects among the tests as usual, without adding what they need."
)
REPORT_HELP = "Folder for the conformance reports, one JSON and one HTML page per image (default: none written)."
DEFAULT_TARGET_FACTORY = "conformance.targets.docker.target:connect"
TARGET_FACTORY_HELP = (
    "MODULE:CALLABLE that connects to the engine the images run on and returns its conformance.targets.Engine, "
    f"called once with no arguments (default {DEFAULT_TARGET_FACTORY}: the Docker engine DOCKER_HOST names)."
)


class ConformanceWarning(UserWarning):
    """A SHOULD clause the image's policy downgraded, or an INFO finding."""


@dataclass
class Target:
    """One image and its test-dir, resolved and validated at configure time."""

    reference: str
    test_dir: TestDir
    image: ImageInfo

    @property
    def id(self) -> str:
        return self.reference


@dataclass
class ConformanceRun:
    options: Options
    targets: list[Target]
    engine: Engine
    clauses: list[Clause] = field(default_factory=list)
    """The clauses certified: every clause, or those of --clause and what they need."""
    stage: Path | None = None
    certifications: dict[str, Certification] = field(default_factory=dict)
    graphs: dict[str, Graph] = field(default_factory=dict)
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    report_dir: Path | None = None


RUN_KEY = pytest.StashKey[ConformanceRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sagemaker-conformance", "SageMaker bring-your-own-container conformance")
    group.addoption("--image", action="append", dest="conformance_images", metavar="IMAGE", help=IMAGE_HELP)
    group.addoption("--test-dir", action="append", dest="conformance_test_dirs", metavar="DIR", help=TEST_DIR_HELP)
    group.addoption("--startup-timeout", dest="conformance_startup_timeout", metavar="SECONDS", help=STARTUP_HELP)
    group.addoption("--train-timeout", dest="conformance_train_timeout", metavar="SECONDS", help=TRAIN_TIMEOUT_HELP)
    group.addoption("--platform", dest="conformance_platform", metavar="OS/ARCH", help=PLATFORM_HELP)
    group.addoption("--max-examples", dest="conformance_max_examples", metavar="N", help=EXAMPLES_HELP)
    group.addoption(
        "--property-budget", dest="conformance_property_budget", metavar="SECONDS", help=PROPERTY_BUDGET_HELP
    )
    group.addoption("--concurrency", dest="conformance_concurrency", metavar="N", help=CONCURRENCY_HELP)
    group.addoption("--clause", action="append", dest="conformance_clauses", metavar="ID", help=CLAUSE_HELP)
    group.addoption("--conformance-report", dest="conformance_report", metavar="DIR", help=REPORT_HELP)
    group.addoption(
        "--target-factory", dest="conformance_target_factory", metavar="MODULE:CALLABLE", help=TARGET_FACTORY_HELP
    )
    parser.addini("conformance_images", IMAGE_HELP, type="linelist", default=[])
    parser.addini("conformance_test_dirs", TEST_DIR_HELP, type="linelist", default=[])
    parser.addini("conformance_startup_timeout", STARTUP_HELP, default=str(contract.STARTUP_BUDGET_S))
    parser.addini("conformance_train_timeout", TRAIN_TIMEOUT_HELP, default="600")
    parser.addini("conformance_platform", PLATFORM_HELP, default=contract.DEFAULT_PLATFORM)
    parser.addini("conformance_max_examples", EXAMPLES_HELP, default="25")
    parser.addini("conformance_property_budget", PROPERTY_BUDGET_HELP, default=str(PROPERTY_BUDGET_S))
    parser.addini("conformance_concurrency", CONCURRENCY_HELP, default="0")
    parser.addini("conformance_clauses", CLAUSE_HELP, type="linelist", default=[])
    parser.addini("conformance_report", REPORT_HELP, default="")
    parser.addini("conformance_target_factory", TARGET_FACTORY_HELP, default=DEFAULT_TARGET_FACTORY)


def _setting(config: pytest.Config, name: str) -> tuple[Any, str]:
    value = getattr(config.option, f"conformance_{name}", None)
    if value is not None:
        return value, f"--{name.replace('_', '-')}"
    return config.getini(f"conformance_{name}"), f"ini key conformance_{name}"


def _number(config: pytest.Config, name: str, kind: type, minimum: float) -> Any:
    raw, origin = _setting(config, name)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"Invalid {origin} {raw!r}: expected a number.") from None
    if value < minimum:
        raise pytest.UsageError(f"Invalid {origin} {raw!r}: must be at least {minimum:g}.")
    return value


def _target_factory(config: pytest.Config) -> Callable[[], Engine]:
    """The callable ``--target-factory`` names; imported only in a session that certifies an image."""
    raw, origin = _setting(config, "target_factory")
    module_name, _, name = str(raw).partition(":")
    if not module_name or not name:
        raise pytest.UsageError(f"Invalid {origin} {raw!r}: expected MODULE:CALLABLE.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise pytest.UsageError(f"Invalid {origin} {raw!r}: cannot import {module_name}: {error}") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise pytest.UsageError(f"Invalid {origin} {raw!r}: {module_name} has no callable {name}.")
    return cast("Callable[[], Engine]", factory)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(id, level): the clause a conformance test certifies.")
    config.addinivalue_line("markers", "conformance: a conformance test generated from the clause registry.")
    images = config.option.conformance_images or config.getini("conformance_images")
    if not images:
        return
    options = Options(
        startup_budget=_number(config, "startup_timeout", float, 1),
        train_timeout=_number(config, "train_timeout", float, 1),
        platform=str(_setting(config, "platform")[0]),
        max_examples=_number(config, "max_examples", int, 0),
        property_budget=_number(config, "property_budget", float, 0),
        concurrency=_number(config, "concurrency", int, 0) or None,
    )
    wanted = config.option.conformance_clauses or config.getini("conformance_clauses")
    try:
        chosen = with_needs(wanted) if wanted else list(clauses())
    except KeyError as error:
        raise pytest.UsageError(f"Invalid --clause: {error.args[0]}") from None
    factory = _target_factory(config)
    try:
        engine = factory()
        targets = _targets(config, images, engine)
    except HarnessError as error:
        raise pytest.UsageError(str(error)) from None
    run = ConformanceRun(options, targets, engine, chosen)
    report_dir = _setting(config, "report")[0]
    run.report_dir = Path(report_dir) if report_dir else None
    config.stash[RUN_KEY] = run
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # `pytest --image=X` with no paths: certify the image instead of collecting the project's tests.
        config.args = [str(SUITE)]


def _targets(config: pytest.Config, images: list[str], engine: Engine) -> list[Target]:
    dirs = config.option.conformance_test_dirs or config.getini("conformance_test_dirs")
    if dirs and len(dirs) not in (1, len(images)):
        raise HarnessError(
            f"Give one --test-dir for all images or one per --image: got {len(dirs)} for {len(images)} images."
        )
    known = {c.id: c for c in clauses()}
    targets = []
    for index, reference in enumerate(images):
        if dirs:
            directory = Path(dirs[0] if len(dirs) == 1 else dirs[index])
        else:
            name = re.split(r"[:@]", reference.rsplit("/", 1)[-1])[0]
            # The rootdir in a checkout; the current folder when installed (`--pyargs conformance` roots elsewhere).
            candidates = dict.fromkeys(base / "test-dirs" / name for base in (config.rootpath, Path.cwd()))
            directory = next((d for d in candidates if d.is_dir()), next(iter(candidates)))
            if not directory.is_dir():
                tried = " nor ".join(str(d) for d in candidates)
                raise HarnessError(
                    f"No --test-dir for image {reference!r}, and {tried} does not exist. Pass --test-dir=DIR: "
                    "a folder shaped like /opt/ml with input/config/hyperparameters.json, input/data/<channel>/ "
                    "and payload.csv (see the README, 'Writing a test-dir')."
                )
        test_dir = load_test_dir(directory)
        for clause_id in test_dir.policy.waive:
            clause = known.get(clause_id)
            if clause is None or clause.level is not Level.SHOULD:
                what = "is not a clause" if clause is None else f"is {clause.level.value}"
                raise HarnessError(
                    f"{directory}/conformance.toml waives {clause_id}, which {what}: only a SHOULD can be downgraded."
                )
        targets.append(Target(reference, test_dir, engine.inspect(reference)))
    return targets


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return None
    lines = [f"sagemaker-conformance {__version__}: {run.engine.info.describe()}"]
    slots = concurrency(run.options, run.engine.info.cpus)
    lines.append(f"  up to {slots} container{'s' if slots > 1 else ''} starting or training at once per image")
    for target in run.targets:
        lines.append(
            f"  image {target.reference} ({target.image.id[7:19]}, {target.image.platform}) "
            f"with test-dir {target.test_dir.root} [profile {target.test_dir.policy.profile}]"
        )
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_clause" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash.get(RUN_KEY, None)
    if run is None:
        metafunc.parametrize(
            "conformance_clause",
            [
                pytest.param(
                    None,
                    marks=pytest.mark.skip(
                        reason="no --image given: run `pytest --image=IMAGE [--test-dir=DIR]` to certify an image"
                    ),
                )
            ],
        )
        return
    params = []
    # pytest-xdist registers its own marker; without it there is nothing to group for (and --strict-markers would
    # refuse an unregistered one).
    grouped = metafunc.config.pluginmanager.hasplugin("xdist")
    for target in run.targets:
        for clause in run.clauses:
            marks = [pytest.mark.conformance, pytest.mark.clause(id=clause.id, level=clause.level.value)]
            if grouped:
                # With pytest-xdist's --dist loadgroup, one worker certifies one image and shares its containers.
                marks.append(pytest.mark.xdist_group(target.reference))
            params.append(
                pytest.param((target, clause), marks=marks, id=f"{target.id}-{clause.id}-{clause.level.value}")
            )
    metafunc.parametrize("conformance_clause", params)


@pytest.fixture(scope="session")
def conformance_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConformanceRun]:
    run = request.config.stash[RUN_KEY]
    run.stage = tmp_path_factory.mktemp("conformance")
    yield run
    for graph in run.graphs.values():
        graph.stop()
    if any(graph.unfinished() for graph in run.graphs.values()):
        # After -x or Ctrl-C a node may still be in a check: removing the run's containers ends it at once instead
        # of at its own bound. Not otherwise: containers stopped by their certification record when they stopped.
        run.engine.cleanup()
    for reference in list(run.certifications):
        finish(run, reference)
    run.engine.cleanup()


def finish(run: ConformanceRun, reference: str) -> None:
    """End an image's certification: its graph first (its checks use its containers), then the containers."""
    graph = run.graphs.pop(reference, None)
    if graph is not None:
        graph.close()
    certification = run.certifications.get(reference)
    if certification is not None:
        certification.close()


def certification_for(run: ConformanceRun, target: Target) -> Certification:
    current = run.certifications.get(target.reference)
    if current is None:
        # One image at a time: finish the previous image's containers before starting the next.
        for other in list(run.certifications):
            finish(run, other)
        assert run.stage is not None
        image_target = run.engine.target(target.image, target.test_dir, run.stage / report.slug(target.reference))
        current = Certification(image_target, target.test_dir, run.options, run.engine.host)
        run.certifications[target.reference] = current
    return current


def selected(items: list[pytest.Item], target: Target) -> list[Clause]:
    """The clauses of ``target`` this session runs (after -k and the like), in their order."""
    found = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("conformance_clause") if callspec is not None else None
        if param is not None and param[0] is target:
            found.append(param[1])
    return found


def graph_for(run: ConformanceRun, target: Target, item: pytest.Item) -> Graph:
    """The image's graph (conformance.graph): the containers its selected clauses use and the clauses, started
    with its first test."""
    graph = run.graphs.get(target.reference)
    if graph is None:
        certification = certification_for(run, target)
        clauses_ = selected(item.session.items, target)
        if any(clause.phase is not Phase.IMAGE for clause in clauses_):
            run.engine.prepare()  # before the first container a check starts (the IMG clauses start none)
        graph = run.graphs[target.reference] = Graph(certification, clauses_)
    return graph


def certify(run: ConformanceRun, target: Target, clause: Clause, item: pytest.Item) -> None:
    """The body of every conformance test."""
    __tracebackhide__ = True
    outcome = graph_for(run, target, item).outcome(clause)
    run.outcomes.setdefault(target.reference, []).append(outcome)
    item.user_properties += [("clause", clause.id), ("level", clause.level.value), ("verdict", outcome.verdict)]
    item.user_properties += [(f"measure.{k}", str(v)) for k, v in outcome.measurements.items()]
    if outcome.verdict == SKIP:
        pytest.skip(f"{clause.id}: {outcome.reason}")
    if outcome.verdict == WARN and outcome.failure is not None:
        warnings.warn(ConformanceWarning(f"{outcome.failure.headline}: {outcome.reason}"), stacklevel=1)
    if outcome.verdict in (FAIL, ERROR) and outcome.failure is not None:
        raise outcome.failure


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report_ = yield
    if (
        report_.skipped
        and isinstance(report_.longrepr, tuple)
        and "conformance_clause" in getattr(item, "fixturenames", ())
    ):
        # Point the skip at the clause, not at pytest's internals.
        report_.longrepr = (str(SUITE), 0, report_.longrepr[2])
    if call.excinfo is not None and isinstance(call.excinfo.value, ConformanceFailure):
        failure = call.excinfo.value
        # The failure says everything; pytest's traceback of the harness would only bury it.
        report_.longrepr = failure.render(with_sections=False)
        for section in failure.sections:
            report_.sections.append((section.title, section.text))
    return report_


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is None or not run.outcomes:
        return
    terminalreporter.section("sagemaker-conformance summary")
    for reference, outcomes in run.outcomes.items():
        certification = run.certifications.get(reference)
        for line in report.summary_lines(reference, outcomes, certification):
            terminalreporter.write_line(line)
        if run.report_dir is not None and certification is not None:
            path = report.write(run.report_dir, certification, outcomes)
            terminalreporter.write_line(f"  JSON report: {path}")
            terminalreporter.write_line(f"  HTML report: {report.html_path(path)}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is not None:
        # Also reached after Ctrl-C: nothing this run made may outlive it.
        run.engine.cleanup()


__all__ = ["ConformanceWarning", "certify"]
