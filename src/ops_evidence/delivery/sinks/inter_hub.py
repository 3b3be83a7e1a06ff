"""Inter-Hub sink: `POST /api/v2/interaction-events`, with read-back after ambiguity.

Exactly-once in effect: every retry sends the stored body bytes with the same idempotency
key (header and `metadata.idempotencyKey`). When an earlier attempt may have landed without
an answer (timeout, reset, 500/502/504, crash mid-request), the sink first lists the
widget's events of that type and looks for the key (`readback.py`, which assumes only the
seeds' list); only once the scan has shown it absent does it post again.
"""

from __future__ import annotations

import httpx

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.base import Attempt
from ops_evidence.delivery.sinks.classify import classify_exception, classify_response
from ops_evidence.delivery.sinks.http import send_prepared
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.delivery.sinks.readback import ReadBack


class InterHubSink:
    """Posts interaction events to Inter-Hub with the API key."""

    name = "inter-hub"

    def __init__(self, api: InterHubClient) -> None:
        # Auth headers and the key's transport rule come from the client the rollout tools
        # use too; the sink adds the post and the read-back.
        self.api = api
        client = self._client = api.http
        self._url = self.api.events_url
        # A post is built here whole and handed to the transport (`send_prepared`: neither
        # `build_request`'s merges nor `send`'s layers on every delivery), so it carries the
        # client's own headers and timeout explicitly.
        self._post_headers = httpx.Headers(client.headers)
        self._post_headers.update(self.api.auth_headers)
        self._post_headers["Content-Type"] = "application/json"
        self._timeout = client.timeout.as_dict()
        # Waiting for the list's scan, and reading, each get half the timeout, so that an
        # attempt (hint, wait, scan, post) usually ends well within its lease (4 x the
        # timeout, at least 60 s); the dispatcher never runs two attempts of a row at once.
        budget = (self._timeout.get("read") or 10.0) / 2
        self.readback = ReadBack(self.api.list_page, self._url, time_budget=budget)

    def _headers(self, idempotency_key: str) -> httpx.Headers:
        headers = self._post_headers.copy()
        headers["Idempotency-Key"] = idempotency_key
        return headers

    async def send(self, delivery: Delivery) -> Attempt:
        """Read back if the last attempt was ambiguous, then post the stored body."""
        if delivery.body is None or delivery.widget_id is None:
            return Attempt("unroutable", error="no widget mapped for this event")
        if delivery.ambiguous:
            found = await self.readback.check(delivery)
            if found is not None:
                return found
        request = httpx.Request(
            "POST",
            self._url,
            headers=self._headers(delivery.key),
            content=delivery.body,
            extensions={"timeout": self._timeout},
        )
        try:
            response = await send_prepared(self._client, request)
        except httpx.HTTPError as exc:
            return classify_exception(exc)
        attempt = classify_response(response)
        if attempt.kind == "delivered":
            self.readback.observe_created(response)
        return attempt
