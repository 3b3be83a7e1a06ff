"""State Hub progress sink: `POST /progress/` with `ops_inventory_probe`, idempotent by key."""

from __future__ import annotations

import httpx

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.delivery.sinks.classify import classify_exception, classify_response

PROGRESS_PATH = "/progress/"


class StateHubSink:
    """Posts the stored progress body; State Hub dedupes on the idempotency key."""

    name = "state-hub"

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = httpx.URL(base_url.rstrip("/") + PROGRESS_PATH)  # parsed once

    async def send(self, delivery: Delivery) -> Attempt:
        """Post once; a repeat of the same key is harmless by contract."""
        if delivery.body is None:
            return Attempt("unroutable", error="no progress body")
        try:
            response = await self._client.post(
                self._url,
                content=delivery.body,
                headers={"Content-Type": "application/json", "Idempotency-Key": delivery.key},
            )
        except httpx.HTTPError as exc:
            return classify_exception(exc)
        attempt = classify_response(response)
        # State Hub has no manifest and no key: an auth or "undeclared" answer is permanent.
        if attempt.kind in ("auth", "undeclared"):
            return Attempt("rejected", attempt.http_status, attempt.error)
        return attempt
