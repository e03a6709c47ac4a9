"""POST /invocations as a client of the service sends it, and the violation one exchange shows.

For the checks of batch transform, content negotiation and response limits (conformance.checks.batch): a check
module never imports another, so what they share with the other serving checks lives here.
"""

from __future__ import annotations

import requests

from conformance import codecs, contract
from conformance.context import CheckContext
from conformance.failures import Violation
from conformance.http import Exchange
from conformance.targets.docker.serving import ServingContainer

POLICY_ACCEPT = "policy"
"""``accept=POLICY_ACCEPT``: send the policy's ``accept`` when it declares one (what every other clause sends)."""
NO_ACCEPT = ""
"""``accept=NO_ACCEPT``: send no Accept header at all (not even the HTTP library's default ``*/*``)."""


def output_media_type(ctx: CheckContext) -> str:
    """The media type the policy declares for answers: its ``accept``, else the request's own media type."""
    return codecs.media_type(ctx.policy.accept or ctx.policy.content_type)


def post(
    ctx: CheckContext,
    server: ServingContainer,
    body: bytes,
    *,
    accept: str = POLICY_ACCEPT,
    name: str = "payload",
    session: requests.Session | None = None,
) -> Exchange:
    """POST /invocations with the policy's Content-Type and the Accept asked for, the body kept on disk for curl."""
    headers = {"Content-Type": ctx.policy.content_type}
    wanted = ctx.policy.accept if accept == POLICY_ACCEPT else accept
    if wanted:
        headers["Accept"] = wanted
    elif session is None:
        session = requests.Session()
        # requests sends "Accept: */*" unless told not to: "absent" must really be absent.
        session.headers.pop("Accept", None)
    return server.request(
        "POST",
        contract.INVOCATIONS_PATH,
        body=body,
        headers=headers,
        session=session,
        payload_file=ctx.payload_file(f"{name}.body", body),
    )


def exchange_violation(exchange: Exchange, summary: str, *, expected: str, actual: str | None = None) -> Violation:
    """A violation seen in one exchange: the request and response as evidence, and curl to replay it."""
    return Violation(
        summary,
        expected=expected,
        actual=exchange.describe() if actual is None else actual,
        evidence=exchange.evidence(),
        reproduce=(exchange.curl(contract.PORT),),
    )


def response_records(ctx: CheckContext, exchange: Exchange) -> list[str] | None:
    """The response's records, read by the codec of its Content-Type (else the policy's accept's, else as lines)."""
    return codecs.for_response(exchange.media_type, ctx.policy.accept).output_records(exchange.body)
