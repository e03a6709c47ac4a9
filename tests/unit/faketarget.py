"""The fake target around a FakeImage: :class:`conformance.targets.Target` in memory, the real
:class:`conformance.sharing.Certification` over it, and :class:`FakeEngine` for the plugin's tests (see
:mod:`.checkfakes`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import conformance.report
from conformance.clock import Clock, VirtualClock
from conformance.entrypoint import ArgumentProbe
from conformance.failures import HarnessError
from conformance.fairness import Host, Load
from conformance.opt_ml import TrainSpec, stage_input
from conformance.options import Options
from conformance.registry import REGISTRY, clauses
from conformance.runner import SKIP, Outcome, run_clause
from conformance.sharing import Certification
from conformance.targets import Capabilities, Engine, ServeSpec
from conformance.targets.results import ImageInfo, PathStat, TrainResult
from conformance.testdir import TestDir
from conformance.testdir import load as load_test_dir
from conformance.timeline import SERVING, TRAINING, Timeline

from .checkfakes import ENGINE, FakeImage, GoodImage, image_info, write_test_dir
from .fakebusy import BusyHostPing
from .fakeimages import HealthyWithoutModel, IgnoresSigterm
from .fakeserver import FakeServer


@dataclass(frozen=True)
class FakeCommands:
    """:class:`conformance.targets.ImageCommands` of the fake engine: its own commands, none of Docker's."""

    reference: str

    def show_config(self, *fields: str) -> str:
        return f"fake-engine inspect {self.reference} {'/'.join(fields)}"

    def run(self, *argv: str) -> str:
        return f"fake-engine run {self.reference} {' '.join(argv)}"

    def build(self, platform: str) -> str:
        return f"fake-engine build --platform {platform}"


class FakeTarget:
    """A :class:`conformance.targets.Target` in memory: every call answers from a FakeImage, and is recorded."""

    def __init__(self, image: FakeImage, test_dir: TestDir, stage: Path, clock: Clock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self.fake = image
        self.test_dir = test_dir
        self.engine = ENGINE
        self.capabilities = Capabilities(host_reaches_internal_network=True)
        self.stage = stage
        self.timeline = Timeline()
        self.trainings: list[tuple[str, float | None]] = []
        self.timeouts: dict[str, float] = {}
        """Each training run's budget, by spec name."""
        self.probes: list[tuple[str, str]] = []
        self.servers: dict[str, FakeServer] = {}
        """The server last started for each spec name."""
        self.launches: list[tuple[str, bool, Path | None, float]] = []
        """Every server started: spec name, whether start-up was waited for, the model folder, the start-up budget."""
        self.closed = False
        stage.mkdir(parents=True, exist_ok=True)

    @property
    def image(self) -> ImageInfo:
        return self.fake.info

    @property
    def commands(self) -> FakeCommands:
        return FakeCommands(self.fake.info.reference)

    def files(self) -> FakeFiles:
        return FakeFiles(self.fake.executables, self.fake.baked, self.fake.baked_sizes, self.fake.contents)

    def probe_entrypoint(self, argument: str, shell: str) -> ArgumentProbe:
        self.probes.append((argument, shell))
        return self.fake.probe(argument)

    def train(self, spec: TrainSpec, *, timeout: float, sigterm_after: float | None = None) -> TrainResult:
        input_dir = stage_input(self.test_dir, spec, self.stage / f"train-{spec.name}")
        self.trainings.append((spec.name, sigterm_after))
        self.timeouts[spec.name] = timeout
        span = self.timeline.span(TRAINING, spec.name)
        for event in ("started", "ready", "stopped"):
            span.mark(event)
        return self.fake.train(spec, sigterm_after, input_dir)

    def train_cluster(self, spec: TrainSpec, *, delay: float, timeout: float) -> tuple[TrainResult, ...]:
        """One run per host of ``spec.hosts``, each staged with its own current_host (as the real one does)."""
        return tuple(
            self.train(replace(spec, name=f"{spec.name}-{host}", current_host=host), timeout=timeout)
            for host in spec.hosts
        )

    def server(self, spec: ServeSpec, *, wait: bool, model: Path | None, budget: float) -> FakeServer:
        self.launches.append((spec.name, wait, model, budget))
        self.timeline.span(SERVING, spec.name).mark("started")
        server = self.servers[spec.name] = self.fake.serve(spec)
        server.clock = self.clock
        server.watching = not wait
        return server

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    """A :class:`conformance.targets.Engine` of fake images, for the plugin's tests (``--target-factory=
    unit.faketarget:connect``): ``fake/NAME:TAG`` is an image of :data:`FAKE_IMAGES`, anything else is not there."""

    def __init__(self) -> None:
        self.info = ENGINE
        self.prepared = False
        self.host = ScriptedHost(VirtualClock(), Path(tempfile.mkdtemp(prefix="smc-fake-quiet-")))
        """A quiet host on virtual time: a plugin test's verdicts never depend on the machine's load."""

    def inspect(self, reference: str) -> ImageInfo:
        repository, _, tag = reference.partition(":")
        kind = FAKE_IMAGES.get(repository.removeprefix("fake/")) if repository.startswith("fake/") else None
        if kind is None or not tag:
            names = ", ".join(FAKE_IMAGES)
            raise HarnessError(f"Image {reference!r} is not in the fake engine (it holds fake/NAME:TAG for {names})")
        return image_info(reference=reference, id="sha256:" + hashlib.sha256(reference.encode()).hexdigest())

    def target(self, image: ImageInfo, test_dir: TestDir, stage: Path) -> FakeTarget:
        name = image.reference.partition(":")[0].removeprefix("fake/")
        return FakeTarget(FAKE_IMAGES[name](info=image), test_dir, stage, self.host.clock)

    def prepare(self) -> None:
        self.prepared = True

    def cleanup(self) -> None:
        """Nothing outlives the session: the fake makes nothing outside its stage."""


def connect() -> Engine:
    """The fake engine as the plugin's target factory (``--target-factory=unit.faketarget:connect``); typed as the
    Protocol so that mypy holds FakeEngine to it."""
    return FakeEngine()


class ScriptedHost(Host):
    """The fake's host: virtual time, a load average a test sets (never the machine's), and a record of each quiet
    measurement; ``on_quiet`` runs as one starts (a test's image calms down)."""

    def __init__(self, clock: Clock, directory: Path) -> None:
        super().__init__(clock, directory)
        self.load_average = (0.5, 0.4, 0.3)
        self.quiets: list[str] = []
        self.on_quiet: list[Callable[[], None]] = []

    def thread_wait(self) -> float | None:
        return 0.0  # the harness's own thread never waits here: the fake image's figures are the whole story

    def measure_load(self, waited: float | None) -> Load:
        return Load(waited, self.load_average, None, 2)

    def pressure_sample(self) -> float | None:
        return None  # the machine's pressure is not the fake's: a quiet measurement starts at once

    @contextlib.contextmanager
    def quiet(self, holder: str) -> Iterator[None]:
        self.quiets.append(holder)
        for calm in self.on_quiet:
            calm()
        with super().quiet(holder):
            yield


class FakeCertification(Certification):
    """The real :class:`conformance.sharing.Certification` (its sharing and cascade rules) over a FakeTarget."""

    def __init__(
        self,
        image: FakeImage,
        test_dir: TestDir,
        stage: Path,
        options: Options | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.fake_target = FakeTarget(image, test_dir, stage, clock)
        host = ScriptedHost(self.fake_target.clock, stage / "quiet")
        super().__init__(self.fake_target, test_dir, options or Options(max_examples=0), host)

    @property
    def fake(self) -> FakeImage:
        return self.fake_target.fake

    @fake.setter
    def fake(self, image: FakeImage) -> None:
        self.fake_target.fake = image

    @property
    def trainings(self) -> list[tuple[str, float | None]]:
        return self.fake_target.trainings

    @property
    def probes(self) -> list[tuple[str, str]]:
        return self.fake_target.probes

    @property
    def servers(self) -> dict[str, FakeServer]:
        return self.fake_target.servers


class FakeFiles:
    """The image's file system as IMG-1 and IMG-3 read it."""

    def __init__(
        self,
        executables: Iterable[str],
        baked: Mapping[str, Sequence[str]],
        sizes: Mapping[str, int] | None = None,
        contents: Mapping[str, bytes] | None = None,
    ) -> None:
        self.executables = set(executables)
        self.baked = baked
        self.sizes = dict(sizes or {})
        self.contents = dict(contents or {})

    def read(self, path: str) -> bytes | None:
        return self.contents.get(path)

    def which(self, name: str, path: tuple[str, ...]) -> PathStat | None:
        candidates = [name] if name.startswith("/") else [f"{d.rstrip('/')}/{name}" for d in path]
        found = next((c for c in candidates if c in self.executables), None)
        return PathStat(found, executable=True) if found else None

    def sizes_under(self, path: str) -> dict[str, int]:
        return {name: self.sizes.get(name, 1024) for name in self.baked.get(path, ())}


def certify(
    image: FakeImage,
    clause_id: str,
    tmp_path: Path,
    *,
    test_dir: TestDir | None = None,
    options: Options | None = None,
    clock: Clock | None = None,
) -> tuple[Outcome, FakeCertification]:
    """Run one real check through the real runner against a fake image (on virtual time unless ``clock``)."""
    if test_dir is None:
        test_dir = load_test_dir(write_test_dir(tmp_path / "test-dir"))
    certification = FakeCertification(image, test_dir, tmp_path / "stage", options, clock)
    list(clauses())  # registers every check
    return run_clause(certification, REGISTRY[clause_id]), certification


def assert_not_judged_twice(outcome: Outcome) -> None:
    """The host was too busy to time the clause, twice (the second time in quiet): a skip naming the load."""
    assert outcome.verdict == SKIP, f"{outcome.verdict}: {outcome.reason}"
    assert outcome.not_judged
    assert outcome.reason.startswith("not judged, the host was too busy to time it fairly, twice"), outcome.reason


def rendered(outcome: Outcome) -> str:
    assert outcome.failure is not None, f"{outcome.clause.id}: {outcome.verdict} ({outcome.reason})"
    return outcome.failure.render()


REPORT_SCHEMA = json.loads((Path(conformance.report.__file__).with_name("report.schema.json")).read_text())
"""The JSON report's schema (conformance/report.schema.json)."""


def outcomes_of(certification: FakeCertification, ids: list[str]) -> list[Outcome]:
    list(clauses())
    return [run_clause(certification, REGISTRY[i]) for i in ids]


FAKE_IMAGES: dict[str, type[FakeImage]] = {
    "good": GoodImage,
    "ignores-sigterm": IgnoresSigterm,
    "healthy-without-model": HealthyWithoutModel,
}
"""The images :class:`FakeEngine` holds, by the NAME of ``fake/NAME:TAG``."""


def busy_host(certification: FakeCertification, image: BusyHostPing) -> BusyHostPing:
    """``image`` on ``certification``, calming down when it measures in quiet."""
    certification.fake = image
    assert isinstance(certification.host, ScriptedHost)
    certification.host.on_quiet.append(image.calm)
    return image
