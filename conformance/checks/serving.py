"""SRV: `docker run IMAGE serve` with the model TRN-1 produced, mounted read-only."""

from __future__ import annotations

import concurrent.futures
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import requests
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis.errors import HypothesisException
from hypothesis.strategies import SearchStrategy

from conformance import codecs, contract
from conformance.context import SERVE_DEFAULT, SERVE_EMPTY_MODEL, SERVE_ISOLATED, SERVE_SIGTERM, CheckContext
from conformance.failures import DependencyFailed, Violation, shorten
from conformance.http import Exchange
from conformance.limits import PING
from conformance.procs import listening_sockets
from conformance.registry import Level, check
from conformance.targets.docker.serving import ServingContainer

PINGS = 20
"""Sequential pings SRV-2 times after start-up."""
CONCURRENCY = 8
CONCURRENT_SECONDS = 3.0


def _content_type(ctx: CheckContext) -> str:
    return ctx.policy.content_type


def _codec(ctx: CheckContext) -> codecs.Codec:
    """The request codec the policy's content_type chose, fitted to the test-dir's payload."""
    codec = ctx.test_dir.codec
    if codec is None:  # the test-dir was loaded for an image that does not serve
        codec = codecs.for_request(ctx.policy.content_type, ctx.test_dir.payload, header=ctx.policy.csv_header)
    return codec


def _records(ctx: CheckContext) -> list[bytes]:
    return list(ctx.test_dir.records) or (_codec(ctx).split(ctx.test_dir.payload) or [])


def response_records(ctx: CheckContext, exchange: Exchange) -> list[str] | None:
    """The response's records, read by the codec of its Content-Type (or of the policy's accept, or as lines)."""
    return codecs.for_response(exchange.media_type, ctx.policy.accept).output_records(exchange.body)


def _curl(exchange: Exchange, port: int = contract.PORT) -> tuple[str, ...]:
    return (exchange.curl(port),)


def exchange_violation(
    exchange: Exchange, summary: str, *, expected: str, actual: str | None = None, port: int = contract.PORT
) -> Violation:
    """A violation seen in one HTTP exchange: the request and response as evidence, and curl to replay it.
    Actual defaults to the response's status (or the transport error)."""
    return Violation(
        summary,
        expected=expected,
        actual=exchange.describe() if actual is None else actual,
        evidence=exchange.evidence(),
        reproduce=_curl(exchange, port),
    )


def invoke(
    ctx: CheckContext,
    server: ServingContainer,
    body: bytes,
    *,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
    name: str = "payload",
) -> Exchange:
    """POST /invocations, keeping the body on disk so the failure can be replayed with curl."""
    sent = {"Content-Type": content_type or _content_type(ctx), **(headers or {})}
    if ctx.policy.accept:
        sent.setdefault("Accept", ctx.policy.accept)
    return server.request(
        "POST", contract.INVOCATIONS_PATH, body=body, headers=sent, payload_file=ctx.payload_file(f"{name}.body", body)
    )


def sized_payload(ctx: CheckContext, size: int) -> bytes:
    """The test-dir's records repeated to about ``size`` bytes, framed as the payload is (CSV header row, JSON
    envelope)."""
    return _codec(ctx).sized(_records(ctx), size)


def _records_in(ctx: CheckContext, body: bytes) -> int:
    return _codec(ctx).count(body) or 0


def round_trip_violations(
    ctx: CheckContext, exchange: Exchange, body: bytes, case: str, expected_records: Sequence[str] | None = None
) -> list[Violation]:
    """SRV-4's rule for one request: 200, a Content-Type, one record out per record in (in order)."""
    found = []
    if exchange.status != 200:
        found.append(
            exchange_violation(
                exchange,
                f"/invocations did not answer 200 ({case})",
                expected="200",
            )
        )
        return found
    if not exchange.headers.get("content-type"):
        found.append(
            exchange_violation(
                exchange,
                f"The response has no Content-Type ({case}); InvokeEndpoint passes it to the client",
                expected="a Content-Type header, e.g. text/csv",
                actual="none",
            )
        )
    accept = ctx.policy.accept
    if accept and exchange.media_type and exchange.media_type != codecs.media_type(accept):
        found.append(
            exchange_violation(
                exchange,
                f"The response is not in the media type the Accept header asked for ({case})",
                expected=f"Content-Type {codecs.media_type(accept)} (the policy's accept)",
                actual=f"Content-Type {exchange.headers.get('content-type')}",
            )
        )
    reader = codecs.for_response(exchange.media_type, accept)
    records = reader.output_records(exchange.body)
    wanted = _records_in(ctx, body)
    if expected_records is not None:
        expected_records = [reader.canonical(record) for record in expected_records]
    if records is None or len(records) != wanted:
        actual = f"a body that does not parse as {reader.name}" if records is None else f"{len(records)} records"
        found.append(
            exchange_violation(
                exchange,
                f"The response does not have one record per input record ({case})",
                expected=f"{wanted} records ({_codec(ctx).name} in, counted as {reader.name} out)",
                actual=actual,
            )
        )
    elif expected_records is not None and list(records) != list(expected_records):
        first = next(i for i, (a, b) in enumerate(zip(records, expected_records, strict=True)) if a != b)
        found.append(
            exchange_violation(
                exchange,
                f"The response's records are not the expected ones, in order ({case})",
                expected=f"record {first + 1}: {expected_records[first]!r}",
                actual=f"record {first + 1}: {records[first]!r}",
            )
        )
    return found


def accepted(exchange: Exchange, case: str) -> list[Violation]:
    """The rule for clauses that judge acceptance only (SRV-9, SRV-14, ENV-4): a 200; SRV-4 judges the records."""
    if exchange.status == 200:
        return []
    return [
        exchange_violation(
            exchange,
            f"/invocations did not answer 200 ({case})",
            expected="200",
        )
    ]


def baseline(ctx: CheckContext, server: ServingContainer) -> tuple[Exchange, list[str] | None]:
    """The answer to the test-dir's payload as it is, and its records when they line up with the input."""
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    again = invoke(ctx, server, ctx.test_dir.payload)
    records = response_records(ctx, exchange) if exchange.status == 200 else None
    if records is not None and len(records) != _records_in(ctx, ctx.test_dir.payload):
        records = None
    if again.body != exchange.body:
        # A nondeterministic model (SRV-15's business): other clauses compare shapes, never contents.
        records = None
    return exchange, records


def same_answer(ctx: CheckContext, first: Exchange, second: Exchange, deterministic: bool) -> bool:
    """Equal bodies for a deterministic model; equal status, media type and record count otherwise."""
    if deterministic:
        return (first.status, first.body) == (second.status, second.body)
    counts = (len(response_records(ctx, first) or []), len(response_records(ctx, second) or []))
    return first.status == second.status and first.media_type == second.media_type and counts[0] == counts[1]


def generated(
    ctx: CheckContext, strategy: SearchStrategy[codecs.Generated], test: Callable[[codecs.Generated], None]
) -> None:
    """Run ``test`` on up to --max-examples generated payloads within --property-budget seconds; hypothesis shrinks a
    failure to its smallest. How many ran is measured (``<clause>_generated_examples``).

    Past the budget no request is sent: before a failure, every further example is rejected, so generation ends;
    after one, every further example fails as that one did, so shrinking ends at once and the failure found is the
    one reported."""
    if ctx.options.max_examples <= 0:
        return
    budget = ctx.options.property_budget
    started = time.monotonic()
    ran = 0
    failure: list[BaseException] = []

    @functools.wraps(test)  # hypothesis derandomizes from the test's source: keep the examples the test gives
    def bounded(example: codecs.Generated) -> None:
        nonlocal ran
        if ran and time.monotonic() - started >= budget:
            if failure:
                raise failure[-1]
            reject()
        ran += 1
        try:
            test(example)
        except Exception as error:
            failure.append(error)
            raise

    try:
        _run_generated(ctx, strategy, bounded)
    finally:
        ctx.measure(f"{ctx.clause_id.lower().replace('-', '')}_generated_examples", ran)
        if time.monotonic() - started >= budget and ran < ctx.options.max_examples:
            ctx.note(
                f"{ran} of {ctx.options.max_examples} generated payloads were sent: the property budget of "
                f"{budget:g} s ran out (--property-budget)"
            )


def _run_generated(
    ctx: CheckContext, strategy: SearchStrategy[codecs.Generated], test: Callable[[codecs.Generated], None]
) -> None:
    runner = settings(
        max_examples=ctx.options.max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )(given(strategy)(test))
    runner()


class _Found(AssertionError):
    """A generated payload broke the rule; carries the violation hypothesis shrank to."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.summary)
        self.violation = violation


def _generated_violations(
    ctx: CheckContext,
    strategy: SearchStrategy[codecs.Generated],
    judge: Callable[[codecs.Generated], list[Violation]],
) -> Iterator[Violation]:
    last: list[Violation] = []

    def test(example: codecs.Generated) -> None:
        found = judge(example)
        if found:
            last[:] = found
            raise _Found(found[0])

    try:
        generated(ctx, strategy, test)
    except _Found:
        # Hypothesis re-raises the smallest failing example last, so `last` holds its violations.
        yield from last
    except HypothesisException as error:
        ctx.note(f"payload generation stopped: {error}")


@check("SRV-1", Level.MUST, "A server answers on 0.0.0.0:8080", source=contract.DG_INF)
def answers_on_8080(ctx: CheckContext) -> Iterator[Violation]:
    """A server answers on 0.0.0.0:8080: reachable through the published port, so not bound to 127.0.0.1 only.

    Why: SageMaker sends /ping and /invocations to port 8080 of the container from outside it. A server listening on
    127.0.0.1, or on another port, answers from inside the container and never to SageMaker, and the endpoint fails
    its health check.

    How: Starts `docker run IMAGE serve` with port 8080 published on a random host port and calls it from the host;
    when nothing answers, it reads /proc/net/tcp in the container to show where the server does listen.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    if server.readiness.answered:
        return
    sockets = "(the container is not running)"
    if server.running():
        code, output = server.execute(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
        sockets = "\n".join(listening_sockets(output)) or "(none)" if code == 0 else "(could not read /proc/net/tcp)"
    yield Violation(
        "Nothing answered HTTP on port 8080 from outside the container",
        expected=f"an HTTP answer on 0.0.0.0:{contract.PORT} within {server.readiness.budget:g} s",
        actual=server.readiness.describe(),
        evidence=(("Listening sockets inside the container", sockets),),
        reproduce=("curl -i http://localhost:8080/ping",),
    )


@check(
    "SRV-2", Level.MUST, "GET /ping returns 200 within the start-up budget, each ping under 2 s", source=contract.DG_INF
)
def ping_healthy(ctx: CheckContext) -> Iterator[Violation]:
    """`GET /ping` returns 200 within the start-up budget (default 60 s; SageMaker's limit is 240 s), and every
    ping answers in under 2 s. The cold-start time is reported.

    Why: An endpoint whose container does not answer 200 on /ping within 4 minutes of starting fails to launch ("did
    not pass the ping health check"), and each /ping request times out after 2 s, so a slow ping takes an instance
    out of service.

    How: Polls GET /ping from the moment the container starts until a 200 or the end of the --startup-timeout budget
    (the cold-start time is measured), failing fast with the logs when the container exits; then sends 20 more
    pings, each of which must answer within 2 s. A ping that fails here ends the check, and every check that needs a
    healthy server is skipped naming SRV-2, rather than meeting the same slow ping again.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    readiness = server.readiness
    if not readiness.ready:
        last = readiness.last
        yield Violation(
            "The container did not pass the ping health check",
            expected=f"200 on GET {contract.PING_PATH} within {readiness.budget:g} s",
            actual=readiness.describe(),
            evidence=last.evidence() if last else (),
            reproduce=("curl -i http://localhost:8080/ping",),
        )
        return
    assert readiness.seconds is not None
    ctx.measure("cold_start_seconds", readiness.seconds)
    slowest = 0.0
    for number in range(1, PINGS + 1):
        exchange = server.request("GET", contract.PING_PATH, timeout=10)
        slowest = max(slowest, exchange.elapsed)
        if exchange.status != 200 or exchange.elapsed >= contract.PING_TIMEOUT_S:
            violation = exchange_violation(
                exchange,
                f"Ping {number} of {PINGS} after start-up failed the health check",
                expected=f"200 in under {contract.PING_TIMEOUT_S:g} s",
                actual=f"{exchange.describe()} in {exchange.elapsed:.2f} s",
            )
            # What needs a healthy server skips, naming SRV-2, instead of meeting this ping again and again.
            ctx.breach(PING, violation)
            yield violation
            break
    ctx.measure("ping_max_seconds", slowest)


@check(
    "SRV-3",
    Level.MUST,
    f"The model is read from a read-only {contract.MODEL_DIR} (train-to-serve round trip)",
    source=contract.DG_INF,
)
def serves_trained_model_read_only(ctx: CheckContext) -> Iterator[Violation]:
    """The model is read from a read-only /opt/ml/model holding the extracted model.tar.gz of TRN-1 (the
    train-to-serve round trip).

    Why: Hosting extracts the model.tar.gz that training uploaded into /opt/ml/model before the container starts,
    and the image must serve that model. A server that writes into the model directory, or loads a model from
    somewhere else, works on a laptop and fails on the service.

    How: Packs the model TRN-1 wrote as model.tar.gz, extracts it, and mounts it read-only at /opt/ml/model in the
    serving container; the test-dir's payload must then get a 200. A server that stops with "Read-only file system"
    in its logs fails here.
    """
    server = ctx.server(SERVE_DEFAULT, ready=False)
    if not server.readiness.ready:
        logs = server.logs()
        if "Read-only file system" in logs or "EROFS" in logs:
            yield Violation(
                f"The server writes into {contract.MODEL_DIR}, which SageMaker mounts read-only",
                expected=f"only reads from {contract.MODEL_DIR}",
                actual="'Read-only file system' in the logs",
            )
            return
        raise DependencyFailed("SRV-2", server.readiness.describe())
    exchange = invoke(ctx, server, ctx.test_dir.payload)
    if exchange.status != 200:
        yield exchange_violation(
            exchange,
            "The server is up but cannot predict with the model it was given",
            expected=f"200 for the test-dir's payload, using the model from {contract.MODEL_DIR}",
        )


@check(
    "SRV-4",
    Level.MUST,
    "POST /invocations round-trips the payload, one record out per record in",
    source=contract.DG_INF,
)
def invocations_round_trip(ctx: CheckContext) -> Iterator[Violation]:
    """`POST /invocations` with the test-dir's payload returns 200, a Content-Type, and exactly one output record
    per input record, in order: also for the same records written the other ways their media type allows (CSV
    and JSON Lines: without a trailing newline, with CRLF line ends; JSON: spaced, indented) and for a single
    record. Records are counted per media type: CSV and JSON Lines, non-blank lines (a declared CSV header row
    is none); JSON, the items of the request's array (the document, or `instances`, `inputs`,
    `dataframe_records`, `dataframe_split.data`) and of the response's (the document, or `predictions`). With
    `accept` in the policy, the response is in that media type.

    Also for generated payloads built from the test-dir's records (shuffled, repeated, renotated, re-spaced).

    Why: InvokeEndpoint and batch transform pass the body to /invocations as it is, and batch transform splits files
    into mini-batches of lines and joins the answers line by line. A server that drops an unterminated last line,
    adds a header row or reorders records misaligns every prediction with its input, silently.

    How: POSTs the test-dir's payload in each of the variants above and --max-examples payloads that hypothesis
    builds from its records (as many as --property-budget seconds allow; how many is measured), through the codec
    of the policy's media type; each answer must be a 200 with a Content-Type and one record per input record, in
    order (equal to expected_output.csv when the test-dir has one). A failing generated body is shrunk and kept on
    disk for curl.
    """
    server = ctx.server()
    payload = ctx.test_dir.payload
    if ctx.policy.csv_header:
        ctx.note("the image needs a CSV header row: batch transform would lose a row of every mini-batch it sends")
    first, outputs = baseline(ctx, server)
    expected = list(ctx.test_dir.expected_output) if ctx.test_dir.expected_output else outputs
    yield from round_trip_violations(ctx, first, payload, "the test-dir's payload", ctx.test_dir.expected_output)
    codec, records = _codec(ctx), _records(ctx)
    for case, body in codec.variants(records).items():
        exchange = invoke(ctx, server, body, name=case.replace(" ", "-").replace(",", ""))
        wanted = expected[:1] if case == codecs.SINGLE and expected else expected
        yield from round_trip_violations(ctx, exchange, body, case, wanted)
    if outputs is None:
        return

    def judge(example: codecs.Generated) -> list[Violation]:
        exchange = invoke(ctx, server, example.body, name="generated-valid")
        return round_trip_violations(
            ctx, exchange, example.body, f"generated: {example.description}", [outputs[i] for i in example.sources]
        )

    yield from _generated_violations(ctx, codec.valid_payloads(records), judge)


@check("SRV-5", Level.SHOULD, "Media-type parameters are understood (text/csv; charset=utf-8)", source=contract.DG_INF)
def media_type_parameters(ctx: CheckContext) -> Iterator[Violation]:
    """Media-type parameters are understood: the policy's content type with `; charset=utf-8` (`text/csv;
    charset=utf-8`, `application/json; charset=utf-8`) is accepted like the type alone.

    Why: Clients and SageMaker's own formats send media types with parameters (`; charset=utf-8` from HTTP
    libraries, `text/csv;label_size=0`). A server that compares the whole Content-Type string rejects valid
    requests.

    How: POSTs the test-dir's payload with `; charset=utf-8` added to its content type and requires the same 200 and
    the same body as without it.
    """
    server = ctx.server()
    first, outputs = baseline(ctx, server)
    content_type = f"{_content_type(ctx)}; charset=utf-8"
    exchange = invoke(ctx, server, ctx.test_dir.payload, content_type=content_type)
    if exchange.status != 200 or not same_answer(ctx, first, exchange, outputs is not None):
        yield exchange_violation(
            exchange,
            f"Content-Type '{content_type}' is not treated like '{_content_type(ctx)}'",
            expected=f"{first.describe()} and the same body as for '{_content_type(ctx)}'",
            actual=exchange.describe() + ("" if exchange.status != 200 else ", a different body"),
        )


@check("SRV-6", Level.SHOULD, "An unsupported Content-Type gets a 4xx (415 preferred)", source=contract.DG_INF)
def unsupported_media_type_rejected(ctx: CheckContext) -> Iterator[Violation]:
    """An unsupported Content-Type gets a 4xx (415 preferred), never a 200 or a 5xx.

    Why: InvokeEndpoint hands a container's 4xx to the caller as a ModelError reading "Received client error (415)
    from model", a 5xx as "Received server error (500)", and a 200 as a prediction made from bytes the model could
    not read. Only a 4xx (415 Unsupported Media Type) tells the caller that the request, not the model, is wrong.

    How: POSTs the test-dir's payload with media types no CSV model accepts
    (application/x-sagemaker-conformance-unsupported, image/png) and requires a 4xx for each.
    """
    server = ctx.server()
    for content_type in contract.UNSUPPORTED_CONTENT_TYPES:
        exchange = invoke(ctx, server, ctx.test_dir.payload, content_type=content_type, name="unsupported")
        if exchange.status is None or not 400 <= exchange.status < 500:
            yield exchange_violation(
                exchange,
                f"Content-Type '{content_type}' was not rejected as a client error",
                expected="a 4xx, preferably 415 Unsupported Media Type",
            )
        elif exchange.status != 415:
            ctx.note(f"{content_type}: {exchange.status} (415 is preferred)")


def malformed_cases(ctx: CheckContext) -> dict[str, bytes]:
    """The fixed malformed bodies of the request's media type: an empty body, wrong widths, a non-number, and
    what breaks the media type's own syntax."""
    return _codec(ctx).malformed_cases(_records(ctx))


def _rejects(exchange: Exchange, case: str) -> list[Violation]:
    if exchange.status is not None and 400 <= exchange.status < 500:
        return []
    return [
        exchange_violation(
            exchange,
            f"A malformed payload ({case}) was not rejected as a client error",
            expected="a 4xx with a reason (400 Bad Request), never a 5xx or a 200",
        )
    ]


@check("SRV-7", Level.SHOULD, "Malformed payloads get a 4xx, not a 5xx", source=contract.DG_INF)
def malformed_payloads_rejected(ctx: CheckContext) -> Iterator[Violation]:
    """Malformed payloads of the request's media type (an empty body, a wrong number of fields, a non-numeric
    field; JSON cut short; a JSON Lines line that is not JSON) get a 4xx, not a 5xx.

    Also for generated ones: wrong widths, non-numeric fields, invalid UTF-8, and per media type stray CSV
    quotes, truncated JSON documents or JSON Lines records.

    Why: A 5xx tells the caller, the endpoint's metrics and its alarms that the model server broke, and batch
    transform retries it; a 4xx says that the request was wrong, which it was.

    How: POSTs the media type's fixed malformed bodies and --max-examples generated ones (as many as
    --property-budget seconds allow; how many is measured), built by the policy's codec; each must get a 4xx.
    """
    server = ctx.server()
    for case, body in malformed_cases(ctx).items():
        exchange = invoke(ctx, server, body, name=case.replace(" ", "-"))
        if exchange.status is not None and exchange.status >= 500 and not (server.running() and server.healthy()):
            # The server went down (SRV-8's finding): its proxy's 5xx says nothing of how it judges input.
            raise DependencyFailed("SRV-8", f"the server stopped answering after a malformed payload ({case})")
        yield from _rejects(exchange, case)

    def judge(example: codecs.Generated) -> list[Violation]:
        return _rejects(
            invoke(ctx, server, example.body, name="generated-malformed"), f"generated: {example.description}"
        )

    yield from _generated_violations(ctx, _codec(ctx).malformed_payloads(_records(ctx)), judge)


def _healthy_after(ctx: CheckContext, server: ServingContainer, bad: Exchange, case: str) -> list[Violation]:
    if not server.running():
        return [
            Violation(
                f"The container died after a bad request ({case})",
                expected="the container keeps running",
                actual=f"exited with code {server.exit_code()}",
                evidence=bad.evidence(),
                reproduce=_curl(bad),
            )
        ]
    # The 2 s limit is SRV-2's and SRV-13's to judge; here only whether the server still answers.
    ping = server.request("GET", contract.PING_PATH, timeout=10)
    good = invoke(ctx, server, ctx.test_dir.payload)
    found = []
    for what, after in (("/ping is not healthy", ping), ("A valid invocation failed", good)):
        if after.status != 200:
            found.append(
                Violation(
                    f"{what} right after a bad request ({case})",
                    expected="200",
                    actual=after.describe(),
                    evidence=bad.evidence() + after.evidence(),
                    reproduce=_curl(bad) + _curl(after),
                )
            )
    return found


@check("SRV-8", Level.MUST, "After any bad request the server is still healthy", source=contract.DG_INF)
def healthy_after_bad_requests(ctx: CheckContext) -> Iterator[Violation]:
    """After any bad request the server is still healthy: `/ping` 200 and a valid invocation still succeeds
    (no dead worker, no wedged container).

    Why: SageMaker routes traffic to an instance as long as its /ping answers 200. A worker that dies on a bad
    request, or a server wedged by one, keeps the instance in service while every later request fails.

    How: Sends the bad requests of SRV-6 and SRV-7 and generated malformed bodies (--max-examples, within
    --property-budget seconds; how many is measured); after each, GET /ping must answer 200 and the test-dir's
    payload must still get a 200.
    """
    server = ctx.server()
    bad_requests = {f"Content-Type {ct}": (ctx.test_dir.payload, ct) for ct in contract.UNSUPPORTED_CONTENT_TYPES}
    bad_requests |= {case: (body, _content_type(ctx)) for case, body in malformed_cases(ctx).items()}
    for case, (body, content_type) in bad_requests.items():
        bad = invoke(ctx, server, body, content_type=content_type, name=case.replace(" ", "-"))
        found = _healthy_after(ctx, server, bad, case)
        yield from found
        if found and not server.running():
            return

    def judge(example: codecs.Generated) -> list[Violation]:
        bad = invoke(ctx, server, example.body, name="generated-malformed")
        return _healthy_after(ctx, server, bad, f"generated: {example.description}")

    yield from _generated_violations(ctx, _codec(ctx).malformed_payloads(_records(ctx)), judge)


@check("SRV-9", Level.SHOULD, "A valid payload of about 6,000,000 bytes is accepted", source=contract.API_RT)
def large_payload_accepted(ctx: CheckContext) -> Iterator[Violation]:
    """A valid payload of about 6,000,000 bytes is accepted (no 413 from a proxy in front of the model): the
    test-dir's records repeated in the request's media type.

    Why: InvokeEndpoint accepts bodies up to 6,291,456 bytes (6 MiB), and batch transform sends mini-batches up to
    MaxPayloadInMB. nginx's default client_max_body_size of 1 MB (AWS's samples set 5m) refuses valid requests with
    a 413 before they reach the model.

    How: POSTs the test-dir's records repeated to about 6,000,000 bytes, rendered by the policy's codec, and
    requires a 200.
    """
    server = ctx.server()
    body = sized_payload(ctx, contract.LARGE_PAYLOAD_BYTES)
    exchange = invoke(ctx, server, body, name="large")
    ctx.measure("large_payload_seconds", exchange.elapsed)
    hint = ("Hint", "nginx's default client_max_body_size is 1m, and AWS's samples set 5m: raise it to 6m or more.")
    for violation in accepted(exchange, f"{len(body):,} bytes"):
        if exchange.status == 413:
            violation = Violation(
                "A valid payload InvokeEndpoint accepts was refused as too large (413)",
                expected=f"200 for {len(body):,} bytes (InvokeEndpoint allows {contract.MAX_REQUEST_BYTES:,})",
                actual=exchange.describe(),
                evidence=(*exchange.evidence(), hint),
                reproduce=violation.reproduce,
            )
        yield violation


@check("SRV-10", Level.MUST, "Extra headers SageMaker adds do not change the response", source=contract.DG_INF)
def extra_headers_ignored(ctx: CheckContext) -> Iterator[Violation]:
    """Extra headers that SageMaker adds (X-Amzn-SageMaker-*, a 1024-character custom attribute, X-Amzn-Trace-Id)
    do not change the response.

    Why: AWS documents that SageMaker may add headers to the requests it forwards and that containers must safely
    ignore them. A proxy with small header buffers answers a 1024-character custom attribute with a 400 or a 494.

    How: POSTs the test-dir's payload with the headers SageMaker adds (X-Amzn-SageMaker-Target-Variant,
    -Inference-Id, -Enable-Explanations, a 1024-character -Custom-Attributes, X-Amzn-Trace-Id, X-Forwarded-For) and
    requires the same answer as without them.
    """
    server = ctx.server()
    first, outputs = baseline(ctx, server)
    exchange = invoke(ctx, server, ctx.test_dir.payload, headers=dict(contract.SAGEMAKER_HEADERS), name="headers")
    if not same_answer(ctx, first, exchange, outputs is not None):
        yield exchange_violation(
            exchange,
            "The headers SageMaker adds changed the response",
            expected=f"{first.describe()} with the same body as without them",
            actual=exchange.describe() + ("" if exchange.status != first.status else ", a different body"),
        )


@check("SRV-11", Level.MUST, "SIGTERM ends the server within 30 s without SIGKILL", source=contract.DG_INF)
def sigterm_stops_server(ctx: CheckContext) -> Iterator[Violation]:
    """SIGTERM (docker stop -t 30) ends the container within 30 s without being killed; the time is reported.

    Why: On UpdateEndpoint and scale-in SageMaker sends SIGTERM, then SIGKILL thirty seconds later. A server that
    never receives SIGTERM (a shell wrapper without `exec`) is killed with requests in flight, and they fail.

    How: Starts a serving container of its own, waits for /ping and for PID 1 to take SIGTERM (up to 5 s more, as
    TRN-7 does: SageMaker stops an endpoint long after it is healthy), sends `docker stop -t 30` and times the exit
    (measured): it must come before the SIGKILL.
    """
    server = ctx.server(SERVE_SIGTERM)
    stop = server.stop_gracefully(contract.SERVE_STOP_GRACE_S)
    ctx.measure("serve_sigterm_seconds", stop.seconds)
    ctx.discard(SERVE_SIGTERM)
    if stop.already_exited:
        yield Violation(
            "The server exited on its own before SIGTERM",
            expected="running until stopped",
            actual=f"exit code {stop.exit_code}",
        )
    elif stop.killed:
        yield Violation(
            "The server ignored SIGTERM and was killed by SIGKILL after 30 s",
            expected=f"exit within {contract.SERVE_STOP_GRACE_S} s of SIGTERM",
            actual=f"exit code {stop.exit_code} (SIGKILL) after {stop.seconds:.1f} s",
            evidence=(
                *stop.pid1_evidence(),
                (
                    "Hint",
                    "PID 1 ignores SIGTERM without a handler; use an exec-form ENTRYPOINT and forward the "
                    "signal to nginx and the model server.",
                ),
            ),
            reproduce=(f"time docker stop -t {contract.SERVE_STOP_GRACE_S} CONTAINER",),
        )


@check("SRV-12", Level.SHOULD, f"With an empty {contract.MODEL_DIR}, /ping never returns 200", source=contract.DG_INF)
def no_model_not_healthy(ctx: CheckContext) -> Iterator[Violation]:
    """With an empty /opt/ml/model, `/ping` never returns 200 (or the container exits non-zero), watched for 5 times
    the image's own cold start with a model (SRV-2's), at least 10 s and never past the start-up budget.

    A healthy ping without a model sends traffic to a container that can only fail. The watch follows the image's
    cold start, not the whole start-up budget: a server without a model has less to do before it answers than the
    same server loading one, so a server that would answer 200 without a model does so by the time the same image,
    with its model, answered 200; five times that, and 10 s at least, leave room for a loaded machine. A server
    still not healthy then will not become healthy without a model. (Not caught: a server that waits longer than
    the window for a model to appear, then gives up into answering 200.) Skipped, naming SRV-2, when the server
    never became healthy with its model: then an unhealthy server without one says nothing.

    Why: /ping is how SageMaker decides that an instance can serve. A server that answers 200 without a model takes
    traffic it can only fail, where an unhealthy ping would have stopped the launch.

    How: Starts the server with an empty /opt/ml/model as soon as the default server is healthy, and polls its /ping
    in the background for the window above while the other checks run; when this check runs it waits for what is
    left of the window. /ping must never answer 200 (exiting non-zero is fine, exiting 0 is not).
    """
    default = ctx.server(SERVE_DEFAULT, ready=False)
    if not default.readiness.ready:
        raise DependencyFailed("SRV-2", default.readiness.describe())
    server = ctx.server(SERVE_EMPTY_MODEL, ready=False)
    readiness = server.readiness
    ctx.measure("empty_model_watch_seconds", readiness.budget)
    if readiness.ready:
        yield Violation(
            f"/ping answered 200 with an empty {contract.MODEL_DIR}",
            expected="never 200 (or a non-zero exit) without a model",
            actual=f"200 after {readiness.seconds:.2f} s",
            evidence=readiness.last.evidence() if readiness.last else (),
            reproduce=("curl -i http://localhost:8080/ping",),
        )
    elif readiness.exited and readiness.exit_code == 0:
        yield Violation(
            "The container exited 0 with no model; SageMaker would not see it as a failure",
            expected="a non-zero exit code",
            actual="exit code 0",
        )


@check("SRV-13", Level.SHOULD, "/ping stays 200 and under 2 s while invocations are in flight", source=contract.DG_INF)
def ping_under_load(ctx: CheckContext) -> Iterator[Violation]:
    """`/ping` stays 200 and under 2 s while concurrent invocations are in flight.

    Why: SageMaker keeps pinging while invocations are in flight, and batch transform sends MaxConcurrentTransforms
    requests at once. A server whose workers are all busy lets /ping time out after 2 s, and the instance is taken
    out of service under load.

    How: Sends 8 concurrent invocations for 3 s while pinging; every ping must answer 200 within 2 s and the
    invocations must succeed (the slowest ping is measured).
    """
    server = ctx.server()
    body = sized_payload(ctx, 512 * 1024)
    accept = ctx.policy.accept
    stop = threading.Event()
    statuses: list[int | None] = []

    def load() -> None:
        session = requests.Session()
        while not stop.is_set():
            exchange = server.request(
                "POST",
                contract.INVOCATIONS_PATH,
                body=body,
                headers={"Content-Type": _content_type(ctx), **({"Accept": accept} if accept else {})},
                session=session,
            )
            statuses.append(exchange.status)

    slowest: Exchange | None = None
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        workers = [pool.submit(load) for _ in range(CONCURRENCY)]
        deadline = time.monotonic() + CONCURRENT_SECONDS
        session = requests.Session()
        while time.monotonic() < deadline:
            ping = server.request("GET", contract.PING_PATH, timeout=10, session=session)
            if slowest is None or ping.elapsed > slowest.elapsed or ping.status != 200:
                slowest = ping
            if ping.status != 200 or ping.elapsed >= contract.PING_TIMEOUT_S:
                break
            time.sleep(0.1)
        stop.set()
        for worker in workers:
            worker.result()
    assert slowest is not None
    ctx.measure("ping_under_load_max_seconds", slowest.elapsed)
    if slowest.status != 200 or slowest.elapsed >= contract.PING_TIMEOUT_S:
        yield Violation(
            f"/ping failed while {CONCURRENCY} invocations of {len(body):,} bytes were in flight",
            expected=f"200 in under {contract.PING_TIMEOUT_S:g} s",
            actual=f"{slowest.describe()} in {slowest.elapsed:.2f} s",
            evidence=slowest.evidence(),
            reproduce=_curl(slowest),
        )
    failed = [s for s in statuses if s != 200]
    if failed:
        yield Violation(
            f"Invocations failed under concurrency ({len(failed)} of {len(statuses)})",
            expected="200 for every invocation",
            actual=f"statuses {sorted(set(map(str, failed)))}",
        )


@check("SRV-14", Level.MUST, "Serving works with no egress network and no AWS_* variables", source=contract.DG_NETISO)
def serves_network_isolated(ctx: CheckContext) -> Iterator[Violation]:
    """Serving works with no egress (an internal Docker network) and no AWS_* variables; the harness asks /ping
    and /invocations from a probe container on that network, so this holds wherever Docker runs.

    Why: Under network isolation (CreateModel with EnableNetworkIsolation, required for AWS Marketplace models) the
    container can make no outbound call and gets no AWS credentials. A server that downloads anything at start never
    becomes healthy.

    How: Starts the server on an internal Docker network (no egress) with no AWS_* variables, under a network alias,
    and sends /ping and the test-dir's payload from a probe container on the same network (the image under test's own
    python3 with its entrypoint replaced; skipped, with the reason, when the image has no python3); requires /ping
    200 and a 200 for the payload.
    """
    server = ctx.server(SERVE_ISOLATED, ready=False)
    if not server.readiness.ready:
        yield Violation(
            "The server did not become healthy without network egress",
            expected=f"200 on {contract.PING_PATH} within {server.readiness.budget:g} s on a network with no egress",
            actual=server.readiness.describe(),
            evidence=(("Hint", "Start-up downloads (pip install, model hubs, S3) fail under network isolation."),),
        )
        return
    yield from accepted(invoke(ctx, server, ctx.test_dir.payload), "network-isolated")


@check("SRV-15", Level.SHOULD, "The same payload twice gives the same output", source=contract.DG_BATCH)
def retry_safe(ctx: CheckContext) -> Iterator[Violation]:
    """The same payload twice gives the same output (retry-safe: batch transform retries invocations).

    Why: Batch transform retries a failed invocation (InvocationsMaxRetries, 3 by default) and clients retry
    timeouts. A server whose answer depends on earlier requests gives the retried records other predictions.

    How: POSTs the test-dir's payload twice and requires the same status and the same body.
    """
    server = ctx.server()
    first = invoke(ctx, server, ctx.test_dir.payload)
    second = invoke(ctx, server, ctx.test_dir.payload)
    if (first.status, first.body) != (second.status, second.body):
        yield Violation(
            "Two identical invocations gave different answers",
            expected=f"{first.describe()} with {shorten(first.body, 200)}",
            actual=f"{second.describe()} with {shorten(second.body, 200)}",
            reproduce=_curl(second),
        )
