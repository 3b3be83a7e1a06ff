"""Inter-Hub sink: `POST /api/v2/interaction-events`, with read-back after ambiguity.

Exactly-once in effect: every retry sends the stored body bytes with the same idempotency
key (header and `metadata.idempotencyKey`). When an earlier attempt may have landed without
an answer (timeout, reset, crash mid-request), the sink first lists the widget's events of
that type and looks for the key; only if it is absent does it post again.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from ops_evidence.outbox.models import Delivery
from ops_evidence.sinks.base import Attempt
from ops_evidence.sinks.classify import classify_exception, classify_response
from ops_evidence.sinks.http import check_key_transport

EVENTS_PATH = "/api/v2/interaction-events"
PAGE_SIZE = 100
MAX_READBACK_PAGES = 50


class InterHubSink:
    """Posts interaction events to Inter-Hub with the API key."""

    name = "inter-hub"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        key: SecretStr,
        *,
        auth_header: str = "Authorization",
        auth_scheme: str = "Bearer",
        allow_insecure_http: bool = False,
    ) -> None:
        check_key_transport(base_url, allow_insecure=allow_insecure_http)
        self._client = client
        # Parsed once: httpx would parse a string URL again on every request.
        self._url = httpx.URL(base_url.rstrip("/") + EVENTS_PATH)
        secret = key.get_secret_value()
        value = f"{auth_scheme} {secret}" if auth_scheme else secret
        # Built (and normalised by httpx) once; a post adds only its idempotency key.
        self._read_headers = httpx.Headers({auth_header: value, "Accept": "application/json"})
        # A post is built here and handed to `client.send` (skipping `build_request`'s merges
        # on every delivery), so it carries the client's own headers and timeout explicitly.
        self._post_headers = httpx.Headers(client.headers)
        self._post_headers.update(self._read_headers)
        self._post_headers["Content-Type"] = "application/json"
        self._timeout = client.timeout.as_dict()

    def _headers(self, idempotency_key: str | None = None) -> httpx.Headers:
        if not idempotency_key:
            return self._read_headers
        headers = self._post_headers.copy()
        headers["Idempotency-Key"] = idempotency_key
        return headers

    async def send(self, delivery: Delivery) -> Attempt:
        """Read back if the last attempt was ambiguous, then post the stored body."""
        if delivery.body is None or delivery.widget_id is None:
            return Attempt("unroutable", error="no widget mapped for this event")
        if delivery.ambiguous:
            found = await self.read_back(delivery)
            if found is not None:
                return found
        request = httpx.Request(
            "POST", self._url, headers=self._headers(delivery.key), content=delivery.body,
            extensions={"timeout": self._timeout},
        )  # fmt: skip
        try:
            response = await self._client.send(request)
        except httpx.HTTPError as exc:
            return classify_exception(exc)
        return classify_response(response)

    async def read_back(self, delivery: Delivery) -> Attempt | None:
        """`duplicate` if the key is already stored; a failure Attempt; None if absent."""
        params: dict[str, Any] = {
            "widgetId": delivery.widget_id,
            "eventType": delivery.event_type,
            "idempotencyKey": delivery.key,
            "pageSize": PAGE_SIZE,
        }
        for page in range(1, MAX_READBACK_PAGES + 1):
            try:
                response = await self._client.get(
                    self._url, params={**params, "page": page}, headers=self._headers()
                )
            except httpx.HTTPError as exc:
                return classify_exception(exc)
            if response.status_code != 200:
                attempt = classify_response(response)
                return Attempt("transient", attempt.http_status, attempt.error, attempt.retry_after,
                               ambiguous=True) if attempt.kind != "auth" else attempt  # fmt: skip
            items = _items(response)
            if any(_key_of(item) == delivery.key for item in items):
                return Attempt("duplicate", http_status=200)
            if len(items) < PAGE_SIZE:
                return None
        return None


def _items(response: httpx.Response) -> list[Any]:
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("data") or data.get("items") or data.get("results") or []
    return data if isinstance(data, list) else []


def _key_of(item: Any) -> Any:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    return metadata.get("idempotencyKey") if isinstance(metadata, dict) else None
