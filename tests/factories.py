"""Small builders of valid events for tests."""

from __future__ import annotations

from ops_evidence.events.types import EndpointVerified, EndpointVerifiedAttributes


def endpoint_event(entity: str = "reg", verified: bool = True) -> EndpointVerified:
    """An ops-endpoint-verified event for `endpoint:<entity>` with a fresh run id."""
    return EndpointVerified.build(
        context_key=f"endpoint:{entity}",
        attributes=EndpointVerifiedAttributes(
            verified=verified,
            endpoint=entity,
            url="https://r.test/v2/",
            expected_status=[401],
            observed_status=401 if verified else 200,
            reason=None if verified else "status_mismatch",
        ),
    )
