"""Who answered: the identity facts of an observation, and a change of them between runs.

Drift compares observations with the inventory; where the inventory declares no identity (an
unpinned ssh host key, a certificate, the address set of a `per_address` endpoint) the only
thing to compare with is the previous observation. `identities` is the one table of what
counts as identity per event type; `Observations.record` keeps the last value of each and
remembers an `IdentityChange` when a new observation differs.

Only what nothing declares is here: a pinned host key, and a dns path's addresses (which the
inventory requires), are compared with the inventory already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import AccessPathChecked, EndpointVerified, TlsChainAttributes

HOST_KEY = "host_key"
TLS_FINGERPRINT = "tls_fingerprint"
ADDRESSES = "addresses"


@dataclass(frozen=True, slots=True)
class Identity:
    """One identity value, and when it stops being valid anyway (a certificate's not_after)."""

    value: str
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdentityChange:
    """An identity attribute that differed between two observations of one context key."""

    attribute: str
    before: Identity
    after: Identity
    when: datetime  # observed_at of the first observation showing `after`


def _leaf(attributes: TlsChainAttributes) -> dict[str, Identity]:
    if not attributes.tls_chain:
        return {}
    leaf = attributes.tls_chain[0]
    return {TLS_FINGERPRINT: Identity(leaf.fingerprint_sha256, leaf.not_after)}


def _endpoint(event: EndpointVerified) -> dict[str, Identity]:
    a = event.attributes
    if not a.addresses:
        return _leaf(a)
    # per_address: the certificate shown is one address's (the first failing, else the first
    # verified), so it may alternate between backends without anything changing; the set of
    # addresses is the identity here.
    return {ADDRESSES: Identity(",".join(sorted(v.address for v in a.addresses)))}


def _access_path(event: AccessPathChecked) -> dict[str, Identity]:
    a = event.attributes
    if a.method == "ssh" and a.ssh_host_keys and not a.ssh_expected_fingerprints:
        return {HOST_KEY: Identity(",".join(sorted({k.fingerprint for k in a.ssh_host_keys})))}
    if a.method == "tls":
        return _leaf(a)
    return {}


def identities(event: EvidenceEvent) -> dict[str, Identity]:
    """The identity facts an event shows, by attribute; empty when it shows none (a failed
    probe that read no key, certificate or address says nothing about who would answer)."""
    if isinstance(event, EndpointVerified):
        return _endpoint(event)
    if isinstance(event, AccessPathChecked):
        return _access_path(event)
    return {}
