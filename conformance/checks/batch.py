"""SRV-16: batch transform end to end, as SageMaker's transform jobs use /invocations."""

from __future__ import annotations

import concurrent.futures
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from conformance import codecs, contract
from conformance.context import CheckContext, ServeSpec
from conformance.failures import CheckSkipped, DependencyFailed, Violation
from conformance.http import Exchange
from conformance.invoking import (
    POLICY_ACCEPT_ONLY,
    exchange_violation,
    invoke,
    request_codec,
    response_reader,
    response_records,
)
from conformance.registry import Level, check
from conformance.targets import Server

BATCH_RECORDS = 20_000
"""Records in the transform job's input file at least, built from the test-dir's records."""
BATCH_INPUT_MINI_BATCHES = 1.5
"""...and at least this many MaxPayloadInMB's worth of them: full-size mini-batches, where a cap on a request's
records shows, and a last, partial one, whose answer must follow the others'."""
SINGLE_RECORD_SAMPLES = 20
"""SingleRecord requests sent (spread over the input): enough to see the strategy, few enough to stay fast."""
BATCH_BUDGET_S = 180.0
"""The time the whole transform may take here; past it the SingleRecord sample stops, with a note."""
MAX_CONCURRENCY = 4
"""At most this many mini-batches in flight, whatever MaxConcurrentTransforms says (a 2-core machine)."""

SERVE_BATCH = ServeSpec("batch", env=contract.BATCH_ENV)
"""MultiRecord, as ENV-4 starts it (the same container)."""
SERVE_BATCH_SINGLE = ServeSpec(
    "batch-single-record",
    env={**contract.BATCH_ENV, contract.BATCH_STRATEGY_ENV: contract.SINGLE_RECORD},
    shareable=True,
)


@dataclass(frozen=True)
class ExecutionParameters:
    """What the transform uses: the image's /execution-parameters where it answers validly, else the defaults."""

    max_payload_mb: int = contract.DEFAULT_MAX_PAYLOAD_IN_MB
    strategy: str = contract.MULTI_RECORD
    concurrency: int = contract.DEFAULT_MAX_CONCURRENT_TRANSFORMS
    source: str = "the defaults (no /execution-parameters)"


def execution_parameters(server: Server) -> ExecutionParameters:
    """Ask the image, as the service does before the first mini-batch; an invalid answer is ENV-4's to judge."""
    answer = server.request("GET", contract.EXECUTION_PARAMETERS_PATH, timeout=10)
    if answer.status != 200:
        return ExecutionParameters()
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return ExecutionParameters(source="the defaults (/execution-parameters is not a JSON object: ENV-4)")
    size = document.get("MaxPayloadInMB")
    strategy = document.get("BatchStrategy")
    concurrency = document.get("MaxConcurrentTransforms")
    return ExecutionParameters(
        max_payload_mb=size
        if isinstance(size, int) and 0 < size <= contract.MAX_PAYLOAD_IN_MB_LIMIT
        else contract.DEFAULT_MAX_PAYLOAD_IN_MB,
        strategy=strategy if strategy in contract.BATCH_STRATEGIES else contract.MULTI_RECORD,
        concurrency=concurrency if isinstance(concurrency, int) and concurrency > 0 else 1,
        source="/execution-parameters",
    )


def input_records(source: Sequence[bytes], limit: int) -> int:
    """How many records the job's input holds: BATCH_RECORDS, or more to fill BATCH_INPUT_MINI_BATCHES of
    ``limit`` bytes."""
    cycle = sum(len(record) + len(contract.SPLIT_LINE_SEPARATOR) for record in source)
    return max(BATCH_RECORDS, math.ceil(BATCH_INPUT_MINI_BATCHES * limit * len(source) / cycle))


def mini_batches(records: Sequence[bytes], limit: int) -> list[range]:
    """SplitType=Line with MultiRecord: as many whole lines per request as fit in ``limit`` bytes, in order."""
    batches: list[range] = []
    start, size = 0, 0
    for index, record in enumerate(records):
        length = len(record) + len(contract.SPLIT_LINE_SEPARATOR)
        if index > start and size + length > limit:
            batches.append(range(start, index))
            start, size = index, 0
        size += length
    if start < len(records):
        batches.append(range(start, len(records)))
    return batches


def assemble_with_line(bodies: Sequence[bytes]) -> bytes:
    """AssembleWith=Line: the answers in order, each ending in a newline (added where it has none)."""
    separator = contract.SPLIT_LINE_SEPARATOR
    return b"".join(body if body.endswith(separator) else body + separator for body in bodies if body)


def _line_codec(ctx: CheckContext) -> codecs.Codec:
    if not ctx.policy.serves:
        raise CheckSkipped(f"profile is {ctx.policy.profile!r}: the image does not serve")
    codec = request_codec(ctx)
    if isinstance(codec, (codecs.JsonCodec, codecs.DocumentCodec)):
        raise CheckSkipped(
            "the request is one JSON document (application/json): batch transform splits input by line "
            "(SplitType=Line) and a JSON document is not line-delimited, so a JSON image takes a transform's input "
            "whole (SplitType=None, one request per file), which SRV-4 and SRV-9 already judge"
        )
    if ctx.policy.csv_header:
        raise CheckSkipped(
            "the image needs a CSV header row (csv_header): batch transform's mini-batches carry none, so the image "
            "cannot run a SplitType=Line transform (SRV-4 notes it)"
        )
    return codec


def _expected_outputs(ctx: CheckContext, server: Server) -> list[str] | None:
    """The answer to each test-dir record, when the model answers the same twice (else counts only). When the
    test-dir's own payload does not round-trip, that is SRV-4's finding, and a transform of it would only repeat it."""
    first = invoke(ctx, server, ctx.test_dir.payload, accept=POLICY_ACCEPT_ONLY, name="batch-baseline")
    if first.status != 200:
        raise DependencyFailed("SRV-4", f"the test-dir's payload got {first.describe()}")
    records = response_records(ctx, first)
    if records is None or len(records) != len(ctx.test_dir.records):
        found = "a body that does not parse" if records is None else f"{len(records)} records"
        raise DependencyFailed("SRV-4", f"the test-dir's {len(ctx.test_dir.records)} records got {found}")
    again = invoke(ctx, server, ctx.test_dir.payload, accept=POLICY_ACCEPT_ONLY, name="batch-baseline")
    return records if first.body == again.body else None


def _batch_server(ctx: CheckContext, spec: ServeSpec) -> Server:
    server = ctx.server(spec, ready=False)
    if not server.readiness.ready:
        raise DependencyFailed("ENV-4", f"with batch transform's variables set: {server.readiness.describe()}")
    return server


@check(
    "SRV-16",
    Level.MUST,
    "A batch transform gives one output record per input record, in order",
    source=contract.API_TRANSFORM_INPUT,
    uses=(SERVE_BATCH, SERVE_BATCH_SINGLE),
    apart=True,
    needs=("SRV-4", "ENV-4", "SRV-9"),
)
def batch_transform_round_trip(ctx: CheckContext) -> Iterator[Violation]:
    """A batch transform with `SplitType=Line` and `AssembleWith=Line` of at least 20,000 records and one and a
    half mini-batches (the test-dir's records, repeated) gives exactly one output record per input record, in
    order, both as MultiRecord mini-batches (up to MaxPayloadInMB, 6 MB unless `/execution-parameters` says
    otherwise) and as SingleRecord requests. For CSV and JSON Lines; a JSON image is skipped (a JSON document is
    not split by line).

    Why: Batch transform splits its input files on newlines into mini-batches, sends them to /invocations with
    SAGEMAKER_BATCH, SAGEMAKER_MAX_PAYLOAD_IN_MB, SAGEMAKER_BATCH_STRATEGY and SAGEMAKER_MAX_CONCURRENT_TRANSFORMS
    set, and joins the answers line by line into the output file. A server that caps a request's records (a fixed
    batch size, a truncated buffer) answers 200 with fewer lines, and every prediction after the gap lands next to
    the wrong input, silently: nothing in the job fails.

    How: Starts the server with the batch variables (MULTI_RECORD, as ENV-4 does; the test-dir's payload must
    round-trip on it first, else SRV-4 holds the finding), reads GET
    /execution-parameters when it answers (its MaxPayloadInMB and MaxConcurrentTransforms are used), builds an
    input of 20,000 records, or more to fill one and a half MaxPayloadInMB (about 9 MB by default), through the
    policy's codec, packs whole lines into mini-batches of at most MaxPayloadInMB,
    sends them (up to MaxConcurrentTransforms at once, at most 4), assembles the answers with a newline after each,
    and requires as many output records as input records, each the test-dir record's own answer when the model is
    deterministic. Then starts it with SAGEMAKER_BATCH_STRATEGY=SINGLE_RECORD and sends 20 records spread over the
    input one per request: each answer must be one record, that record's own answer when the model is
    deterministic. The SingleRecord sample stops once the check has run 180 s (with a note).
    """
    codec = _line_codec(ctx)
    started = ctx.clock.now()
    server = _batch_server(ctx, SERVE_BATCH)
    parameters = execution_parameters(server)
    preference = f"; the image prefers {parameters.strategy}" if parameters.source.startswith("/") else ""
    ctx.note(
        f"MaxPayloadInMB {parameters.max_payload_mb}, MaxConcurrentTransforms {parameters.concurrency} "
        f"(from {parameters.source}){preference}"
    )
    source = list(ctx.test_dir.records)
    limit = parameters.max_payload_mb * contract.MEGABYTE
    records = [source[i % len(source)] for i in range(input_records(source, limit))]
    expected = _expected_outputs(ctx, server)
    batches = mini_batches(records, limit)

    def send(number: int) -> Exchange:
        body = codec.render([records[i] for i in batches[number]])
        return invoke(ctx, server, body, accept=POLICY_ACCEPT_ONLY, name=f"mini-batch-{number + 1}")

    workers = max(1, min(parameters.concurrency, MAX_CONCURRENCY))
    transform_started = ctx.clock.now()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(send, range(len(batches))))
    ctx.measure("batch_transform_seconds", ctx.clock.now() - transform_started)
    ctx.measure("batch_mini_batches", len(batches))
    found = list(_multi_record_violations(ctx, records, batches, answers, expected))
    yield from found
    if ctx.clock.now() - started > BATCH_BUDGET_S:
        ctx.note(f"SingleRecord was not tried: the MultiRecord transform took over {BATCH_BUDGET_S:g} s")
        return
    single = _batch_server(ctx, SERVE_BATCH_SINGLE)
    step = max(1, len(records) // SINGLE_RECORD_SAMPLES)
    for index in list(range(0, len(records), step))[:SINGLE_RECORD_SAMPLES]:
        if ctx.clock.now() - started > BATCH_BUDGET_S:
            ctx.note(f"the SingleRecord sample stopped at record {index + 1}: the check's {BATCH_BUDGET_S:g} s ran out")
            break
        exchange = invoke(ctx, single, codec.render([records[index]]), accept=POLICY_ACCEPT_ONLY, name="single-record")
        violation = _single_record_violation(ctx, exchange, index, expected)
        if violation is not None:
            yield violation
            break


def _multi_record_violations(
    ctx: CheckContext,
    records: Sequence[bytes],
    batches: Sequence[range],
    answers: Sequence[Exchange],
    expected: Sequence[str] | None,
) -> Iterator[Violation]:
    refused = [(n, a) for n, a in enumerate(answers) if a.status != 200]
    for number, answer in refused[:1]:
        if answer.status == 413:
            raise DependencyFailed("SRV-9", f"a {len(answer.request_body):,}-byte mini-batch was refused as too large")
        yield exchange_violation(
            answer,
            f"Mini-batch {number + 1} of {len(batches)} ({len(batches[number]):,} records) was not answered 200",
            expected="200 and one output record per input record",
        )
    if refused:
        return
    assembled = assemble_with_line([a.body for a in answers])
    reader = response_reader(ctx, answers[0])
    outputs = reader.output_records(assembled)
    if outputs is None or len(outputs) != len(records):
        # Each mini-batch's answer is parsed again only to name the first one short of records.
        per_batch = [len(reader.output_records(a.body) or []) for a in answers]
        short = next((n for n, (b, c) in enumerate(zip(batches, per_batch, strict=True)) if len(b) != c), None)
        counted = f"a body that does not parse as {reader.name}" if outputs is None else f"{len(outputs):,} records"
        number = short if short is not None else 0
        yield exchange_violation(
            answers[number],
            "The assembled output does not have one record per input record",
            expected=f"{len(records):,} records ({len(batches)} mini-batch(es) of whole lines, assembled with Line)",
            actual=f"{counted}; mini-batch {number + 1} of {len(batches)}: {len(batches[number]):,} records in, "
            f"{per_batch[number]:,} out",
        )
        return
    if expected is None:
        return
    # Record i answers test-dir record i mod len(expected): canonical once per test-dir record, not per output.
    wanted = [reader.canonical(line) for line in expected]
    wrong = next((i for i, out in enumerate(outputs) if out != wanted[i % len(wanted)]), None)
    if wrong is not None:
        number = next(n for n, b in enumerate(batches) if wrong in b)
        yield exchange_violation(
            answers[number],
            "The assembled output's records are not the input records' answers, in order",
            expected=f"record {wrong + 1:,}: {wanted[wrong % len(wanted)]!r} "
            f"(test-dir record {wrong % len(expected) + 1}'s answer)",
            actual=f"record {wrong + 1:,}: {outputs[wrong]!r} (in mini-batch {number + 1} of {len(batches)})",
        )


def _single_record_violation(
    ctx: CheckContext, exchange: Exchange, index: int, expected: Sequence[str] | None
) -> Violation | None:
    case = f"SingleRecord, input record {index + 1:,}"
    if exchange.status != 200:
        return exchange_violation(exchange, f"A single-record request was not answered 200 ({case})", expected="200")
    outputs = response_records(ctx, exchange)
    if outputs is None or len(outputs) != 1:
        return exchange_violation(
            exchange,
            f"A single-record request was not answered with one record ({case})",
            expected="1 record",
            actual="a body that does not parse" if outputs is None else f"{len(outputs)} records",
        )
    if expected is not None:
        reader = response_reader(ctx, exchange)
        wanted = reader.canonical(expected[index % len(expected)])
        if outputs[0] != wanted:
            return exchange_violation(
                exchange,
                f"A single-record request got another answer than the same record in a mini-batch ({case})",
                expected=repr(wanted),
                actual=repr(outputs[0]),
            )
    return None


# --- content negotiation -----------------------------------------------------------------------------------------
