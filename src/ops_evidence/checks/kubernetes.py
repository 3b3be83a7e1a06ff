"""Kubernetes API: `/version` (or `/livez`, `/readyz`) with a bearer token from a file."""

from __future__ import annotations

from dataclasses import dataclass

from ops_evidence.checks.base import Failure
from ops_evidence.checks.http import ClientFactory, HttpResult, fetch, fresh_client
from ops_evidence.inventory.checks import HttpExpect, HttpOptions, KubernetesApiPath


@dataclass(frozen=True, slots=True)
class KubernetesResult:
    """The API server's answer: reachable, and its version when `/version` was asked."""

    url: str
    status: int | None = None
    version: str | None = None  # gitVersion, unredacted: the event decides
    latency_ms: float | None = None
    failure: Failure | None = None


def _version(result: HttpResult) -> str | None:
    try:
        document = result.json()
    except ValueError:
        return None
    value = document.get("gitVersion") if isinstance(document, dict) else None
    # Raw, as the service probe's version: the event keeps it when it has a version's shape
    # and redacts it otherwise (`events.identifiers.Version`).
    return str(value) if value is not None else None


async def check_kubernetes(
    path: KubernetesApiPath, *, timeout: float, client_factory: ClientFactory = fresh_client
) -> KubernetesResult:
    """GET the API path; 200 means reachable. 401/403 mean the token is refused. Never raises."""
    options = HttpOptions(
        url=path.url.rstrip("/") + path.path,
        expect=HttpExpect(status=[200]),
        ca_file=path.ca_file,
        bearer_token=path.token,
        max_body_bytes=16384,
    )
    result = await fetch(options, timeout=timeout, client_factory=client_factory)
    if result.failure is not None:
        return KubernetesResult(result.url, failure=result.failure)
    version = _version(result) if path.path == "/version" else None
    failure = None
    if result.status in (401, 403):
        failure = Failure.of("unauthorized", f"{result.url}: token refused ({result.status})")
    elif result.status != 200:
        failure = Failure.of("unexpected_status", f"{result.url}: status {result.status}")
    elif path.path == "/version" and version is None:
        failure = Failure.of("bad_json", f"{result.url}: no gitVersion in the answer")
    return KubernetesResult(result.url, result.status, version, result.latency_ms, failure)
