"""Turn an HTTP answer or a transport error into an Attempt (shared by the HTTP sinks)."""

from __future__ import annotations

import re

import httpx

from ops_evidence.delivery.backoff import parse_retry_after
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.redact import redact_text

TRANSIENT_STATUS = frozenset({408, 429})
# 5xx answers that say the request was not carried out: not implemented, unavailable (the
# hub, or a proxy with no healthy upstream, shed it), HTTP version refused. Every other 5xx
# may come after the hub committed the event (a 500 from a handler that failed after its
# insert, a 502/504 from a proxy that lost the upstream's answer): ambiguous.
NOT_CARRIED_OUT_5XX = frozenset({501, 503, 505})
# How Inter-Hub says an event type is unknown to the registry or undeclared by the manifest.
_UNDECLARED = re.compile(
    r"(?i)(event[ _-]?type).{0,80}(not declared|undeclared|not registered|unknown|not in)"
    r"|(not declared|undeclared|unknown).{0,40}(event[ _-]?type)"
)


def short_error(response: httpx.Response) -> str:
    """`STATUS reason: first 200 chars of the body`, redacted (never the raw body)."""
    text = response.text[:200].replace("\n", " ") if response.content else ""
    return redact_text(
        f"{response.status_code} {response.reason_phrase}: {text}".strip(), limit=240
    )


def classify_response(response: httpx.Response) -> Attempt:
    """Map a status code (and error body) to an Attempt."""
    status = response.status_code
    if 200 <= status < 300:
        return Attempt("delivered", http_status=status)
    if status == 409:
        return Attempt("duplicate", http_status=status)
    error = short_error(response)
    if status in TRANSIENT_STATUS or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ambiguous = status >= 500 and status not in NOT_CARRIED_OUT_5XX
        return Attempt("transient", status, error, retry_after, ambiguous)
    if status in (401, 403):
        return Attempt("auth", status, error)
    if _UNDECLARED.search(response.text[:2000]):
        return Attempt("undeclared", status, error)
    return Attempt("rejected", status, error)


def classify_exception(exc: httpx.HTTPError) -> Attempt:
    """Transport failures are transient; ambiguous unless the request surely never left."""
    # Connect errors and pool timeouts happen before a byte of the request is sent.
    sure_not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    error = redact_text(f"{type(exc).__name__}: {exc}", limit=240)
    return Attempt("transient", None, error, None, ambiguous=not sure_not_sent)
