"""The identity memory of `Observations`: a change between two observations of one key is
remembered (attribute, before, after, when); what nothing declares is all it tracks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import AccessPathChecked, EndpointVerified
from ops_evidence.probes import MemoryObservations, Observations
from ops_evidence.probes.identity import Identity, identities

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
KEY_A, KEY_B = "SHA256:" + "A" * 43, "SHA256:" + "B" * 43
FP_A, FP_B = ":".join(["AA"] * 32), ":".join(["BB"] * 32)
NOT_AFTER = T0 + timedelta(days=90)

# Every implementation of the seam runs the same suite (one today).
IMPLEMENTATIONS: list[Callable[[], Observations]] = [MemoryObservations]


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda factory: factory.__name__)
def observations(request: pytest.FixtureRequest) -> Observations:
    """A fresh, empty store of each implementation."""
    factory: Callable[[], Observations] = request.param
    return factory()


def ssh(when: datetime, *fingerprints: str, pinned: tuple[str, ...] = ()) -> AccessPathChecked:
    """An ssh observation of `access-path:ssh` holding `fingerprints`."""
    attributes = {
        "verified": True,
        "access_path": "ssh",
        "method": "ssh",
        "target": "127.0.0.1:22",
        "ssh_host_keys": [{"type": "ssh-ed25519", "fingerprint": f} for f in fingerprints],
        "ssh_expected_fingerprints": list(pinned),
    }
    return AccessPathChecked.build(
        context_key="access-path:ssh", attributes=attributes, observed_at=when
    )


def certificate(fingerprint: str, not_after: datetime = NOT_AFTER) -> dict[str, Any]:
    """One `tls_chain` entry."""
    return {
        "subject": "CN=localhost",
        "issuer": "CN=Test CA",
        "serial": "01",
        "fingerprint_sha256": fingerprint,
        "not_before": T0 - timedelta(days=1),
        "not_after": not_after,
    }


def tls_endpoint(when: datetime, fingerprint: str | None) -> EndpointVerified:
    """An endpoint observation whose leaf has `fingerprint` (no TLS facts when None)."""
    attributes = {
        "verified": fingerprint is not None,
        "endpoint": "ep",
        "url": "https://127.0.0.1/",
        "tls_chain": [certificate(fingerprint), certificate(FP_B)] if fingerprint else [],
    }
    return EndpointVerified.build(
        context_key="endpoint:ep", attributes=attributes, observed_at=when
    )


def per_address(when: datetime, *addresses: str) -> EndpointVerified:
    """A `per_address` endpoint observation over `addresses` (each with the same leaf)."""
    verdicts = [{"address": a, "verified": True} for a in addresses]
    attributes = {
        "verified": True,
        "endpoint": "ep",
        "url": "https://multi.test/",
        "addresses": verdicts,
        "tls_chain": [certificate(FP_A)],
    }
    return EndpointVerified.build(
        context_key="endpoint:ep", attributes=attributes, observed_at=when
    )


def record(store: Observations, *events: EvidenceEvent) -> Observations:
    """`store` after recording `events` in order."""
    for event in events:
        store.record(event)
    return store


def test_first_observation_is_no_change(observations: Observations) -> None:
    """Nothing to compare the first observation with: no change."""
    record(observations, ssh(T0, KEY_A))
    assert observations.identity_changes("access-path:ssh") == []


def test_same_identity_is_no_change(observations: Observations) -> None:
    """The same host keys twice, listed in another order: no change."""
    record(observations, ssh(T0, KEY_A, KEY_B), ssh(LATER, KEY_B, KEY_A))
    assert observations.identity_changes("access-path:ssh") == []


def test_changed_host_key_is_remembered(observations: Observations) -> None:
    """An unpinned host key that differs from the previous run: attribute, before, after and
    the time of the observation that showed it."""
    record(observations, ssh(T0, KEY_A), ssh(LATER, KEY_B))
    [change] = observations.identity_changes("access-path:ssh")
    assert (change.attribute, change.before.value, change.after.value) == (
        "host_key",
        KEY_A,
        KEY_B,
    )
    assert change.when == LATER


def test_pinned_host_key_is_not_tracked(observations: Observations) -> None:
    """A pinned path is compared with its pin (drift's `host_key_mismatch`), not with the
    previous run: rotating between two pinned keys is no change."""
    record(observations, ssh(T0, KEY_A, pinned=(KEY_A, KEY_B)))
    record(observations, ssh(LATER, KEY_B, pinned=(KEY_A, KEY_B)))
    assert observations.identity_changes("access-path:ssh") == []


def test_an_observation_without_identity_keeps_the_last(observations: Observations) -> None:
    """A failed probe in between (no certificate read) neither is a change nor hides one."""
    record(observations, tls_endpoint(T0, FP_A), tls_endpoint(LATER, None))
    assert observations.identity_changes("endpoint:ep") == []
    record(observations, tls_endpoint(LATER + timedelta(minutes=5), FP_B))
    [change] = observations.identity_changes("endpoint:ep")
    assert (change.before, change.after.value) == (Identity(FP_A, NOT_AFTER), FP_B)


def test_an_older_event_is_ignored(observations: Observations) -> None:
    """An event older than the latest (out of order) changes neither latest nor identity."""
    record(observations, tls_endpoint(LATER, FP_A), tls_endpoint(T0, FP_B))
    assert observations.identity_changes("endpoint:ep") == []


def test_the_newest_change_replaces_the_previous(observations: Observations) -> None:
    """Changed and changed back: one change per attribute is kept, the newest (bounded)."""
    back = LATER + timedelta(minutes=5)
    record(observations, ssh(T0, KEY_A), ssh(LATER, KEY_B), ssh(back, KEY_A))
    [change] = observations.identity_changes("access-path:ssh")
    assert (change.before.value, change.after.value, change.when) == (KEY_B, KEY_A, back)


def test_per_address_identity_is_the_address_set(observations: Observations) -> None:
    """A `per_address` endpoint's identity is its sorted address set (its certificate is one
    address's and may alternate between backends)."""
    record(observations, per_address(T0, "127.0.0.2", "127.0.0.1"))
    record(observations, per_address(LATER, "127.0.0.1"))
    [change] = observations.identity_changes("endpoint:ep")
    assert change.attribute == "addresses"
    assert (change.before.value, change.after.value) == ("127.0.0.1,127.0.0.2", "127.0.0.1")


def test_identity_table() -> None:
    """The one table: a tls leaf's fingerprint with its expiry; a dns path (declared
    addresses, compared with the inventory) shows none."""
    assert identities(tls_endpoint(T0, FP_A)) == {"tls_fingerprint": Identity(FP_A, NOT_AFTER)}
    dns = AccessPathChecked.build(
        context_key="access-path:dns",
        attributes={
            "verified": True,
            "access_path": "dns",
            "method": "dns",
            "target": "a.test",
            "declared_addresses": ["127.0.0.7"],
            "resolved_addresses": ["127.0.0.7"],
        },
    )
    assert identities(dns) == {}
