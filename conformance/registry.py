"""The clause registry: each check is a small function registered under its clause ID.

A check is a generator: it yields a :class:`~conformance.failures.Violation` for each breach it
sees, so every violation is reported, and raises :class:`~conformance.failures.CheckSkipped`
when it cannot run. Its docstring is the clause's specification (docs/clauses.md is generated from
it): the first paragraph states the rule, a paragraph starting ``Why:`` says why SageMaker needs it,
and one starting ``How:`` says how the harness tests it; other paragraphs are details.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from conformance.failures import Violation

if TYPE_CHECKING:
    from conformance.context import CheckContext
    from conformance.opt_ml import TrainSpec
    from conformance.targets import ServeSpec
    from conformance.testdir import Policy

    Use: TypeAlias = TrainSpec | ServeSpec | Callable[[Policy], TrainSpec | ServeSpec | None]


class Level(str, enum.Enum):
    """The clause levels (docs/clauses.md)."""

    MUST = "MUST"
    """Fails the image."""
    SHOULD = "SHOULD"
    """Fails the image unless its policy downgrades it to a warning, with a reason."""
    CONDITIONAL = "CONDITIONAL"
    """Runs only when the image claims the capability; then fails like MUST."""
    INFO = "INFO"
    """Measured and reported, never fails."""


class Phase(str, enum.Enum):
    IMAGE = "IMG"
    TRAINING = "TRN"
    SERVING = "SRV"
    ENVIRONMENT = "ENV"


CheckFunction = Callable[["CheckContext"], Iterable[Violation] | None]
_CLAUSE_ID = re.compile(r"^(IMG|TRN|SRV|ENV)-\d+$")


@dataclass(frozen=True)
class Clause:
    id: str
    level: Level
    title: str
    function: CheckFunction
    source: str
    uses: tuple[Use, ...] = ()
    """The containers the check asks for beyond the default training run and server (nodes of the certification's
    graph, started ahead of the check: :meth:`conformance.sharing.Certification.container_nodes`)."""
    apart: bool = False
    """A serving or environment check that judges on serving containers of its own and only reads the default
    server as first started (its readiness, its process table): it neither loads, breaks nor replaces the server
    the other checks share, so it runs beside them (conformance.graph)."""
    replica: bool = False
    """A check of the default server's configuration that runs on a second server of that configuration
    (``default-2``), in a group beside the first: it relies on nothing another check did to the default server, so
    an image whose every request is slow has its requests waited for on two servers at once (conformance.graph)."""
    waits: float = 0.0
    """Seconds the check waits by design once its container is up (ENV-3's frozen request): the containers of the
    longest waits are started first (its weight in the graph, :mod:`conformance.graph`)."""
    extra_needs: tuple[str, ...] = ()
    """The clauses this check skips naming beyond those of its phase (:func:`phase_needs`): see :attr:`needs`."""

    @property
    def needs(self) -> tuple[str, ...]:
        """The clauses whose failure makes this one unjudgeable: it then skips naming one of them
        (:class:`~conformance.failures.DependencyFailed`). Those of its phase (:func:`phase_needs`), then its own."""
        return tuple(dict.fromkeys((*phase_needs(self.id), *self.extra_needs)))

    def planned(self, policy: Policy) -> list[TrainSpec | ServeSpec]:
        """The configurations of :attr:`uses` under ``policy`` (a function of the policy may give none)."""
        found = [use(policy) if callable(use) else use for use in self.uses]
        return [spec for spec in found if spec is not None]

    @property
    def phase(self) -> Phase:
        return Phase(self.id.split("-")[0])

    @property
    def rule(self) -> str:
        doc = (self.function.__doc__ or self.title).strip()
        return " ".join(doc.split("\n\n")[0].split())

    @property
    def why(self) -> str:
        """Why the clause matters: the docstring's paragraph starting ``Why:`` (empty when it has none)."""
        return self._labelled("Why:")

    @property
    def how(self) -> str:
        """How the harness tests the clause: the docstring's paragraph starting ``How:`` (empty when none)."""
        return self._labelled("How:")

    @property
    def details(self) -> list[str]:
        """The docstring's other paragraphs, between the rule and ``Why:``/``How:``."""
        return [p for p in self._paragraphs()[1:] if not p.startswith(("Why:", "How:"))]

    def _paragraphs(self) -> list[str]:
        doc = inspect.cleandoc(self.function.__doc__ or "")
        return [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]

    def _labelled(self, label: str) -> str:
        found = [p for p in self._paragraphs() if p.startswith(label)]
        return found[0][len(label) :].strip() if found else ""

    @property
    def number(self) -> int:
        return int(self.id.split("-")[1])

    def run(self, ctx: CheckContext) -> list[Violation]:
        found = self.function(ctx)
        return list(found) if found is not None else []


LEAD = ("SRV-1", "SRV-2", "SRV-3")
"""The serving clauses every other serving and environment clause needs: the default server answers (SRV-1), is
healthy with its pings under 2 s (SRV-2), and answers an invocation of the trained model within the limit (SRV-3)."""


def phase_needs(clause_id: str) -> tuple[str, ...]:
    """What every clause of a phase needs: a training run that never reached a program is IMG-1's (TRN-1 needs it);
    every other training clause trains like TRN-1; a server needs TRN-1's model; SRV-3 needs SRV-2's healthy server;
    every other serving and environment clause needs :data:`LEAD`."""
    phase, number = clause_id.split("-")
    if phase == Phase.TRAINING.value:
        return ("IMG-1",) if number == "1" else ("TRN-1",)
    if clause_id in ("SRV-1", "SRV-2"):
        return ("TRN-1",)
    if clause_id == "SRV-3":
        return ("SRV-2",)
    if phase in (Phase.SERVING.value, Phase.ENVIRONMENT.value):
        return LEAD
    return ()


REGISTRY: dict[str, Clause] = {}


def check(
    clause_id: str,
    level: Level,
    title: str,
    *,
    source: str = "",
    uses: Iterable[Use] = (),
    apart: bool = False,
    replica: bool = False,
    waits: float = 0.0,
    needs: Iterable[str] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``function`` as the check of ``clause_id``; a clause has exactly one check. ``uses`` names the
    training runs and serving configurations it asks for (a function of the policy when they depend on it), so
    that the certification can start them before the check's turn; ``apart`` lets it run beside the checks that
    share the default server (see :attr:`Clause.apart`); ``replica`` runs it on a second server of the default
    configuration (see :attr:`Clause.replica`); ``waits`` is how long it waits by design once its container
    is up (see :attr:`Clause.waits`); ``needs`` names the clauses it skips naming beyond its phase's (see
    :attr:`Clause.needs`)."""

    if not _CLAUSE_ID.fullmatch(clause_id):
        raise ValueError(f"clause id {clause_id!r} is not of the form IMG-1, TRN-2, SRV-3 or ENV-4")

    def register(function: CheckFunction) -> CheckFunction:
        if clause_id in REGISTRY:
            raise ValueError(f"a check for {clause_id} is already registered: {REGISTRY[clause_id].function.__name__}")
        if (apart or replica) and not clause_id.startswith(("SRV-", "ENV-")):
            raise ValueError(f"{clause_id}: only a serving or environment check runs apart or on a second server")
        if apart and replica:
            raise ValueError(f"{clause_id}: a check apart has servers of its own, not the default's second")
        REGISTRY[clause_id] = Clause(
            clause_id, level, title, function, source, tuple(uses), apart, replica, waits, tuple(needs)
        )
        return function

    return register


def missing_parts(clause: Clause) -> list[str]:
    """What docs/clauses.md needs and the clause lacks: "why", "how" (docstring paragraphs), "source" (an https URL)."""
    missing = [name for name, text in (("why", clause.why), ("how", clause.how)) if not text]
    return missing + ([] if clause.source.startswith("https://") else ["source"])


def with_needs(selected: Iterable[str]) -> list[Clause]:
    """The clauses ``selected`` names and every clause they need, transitively, in the specification's order: what a
    narrow run (``--clause``) certifies, so that each skip it reports names a clause judged in the same run."""
    known = {c.id: c for c in clauses()}
    unknown = sorted(set(selected) - set(known))
    if unknown:
        raise KeyError(f"no such clause: {', '.join(unknown)} (known: {', '.join(known)})")
    wanted: set[str] = set()
    pending = list(selected)
    while pending:
        clause_id = pending.pop()
        if clause_id not in wanted:
            wanted.add(clause_id)
            pending += known[clause_id].needs
    return [c for c in known.values() if c.id in wanted]


def clauses() -> Iterator[Clause]:
    """Every registered clause, in the specification's order (IMG, TRN, SRV, ENV; by number)."""
    import conformance.checks  # noqa: F401  (registers every check)

    order = {phase: n for n, phase in enumerate(Phase)}
    yield from sorted(REGISTRY.values(), key=lambda c: (order[c.phase], c.number))
