"""`ops-inventory-drift`: declared inventory vs the latest observations, per environment.

No network calls: drift reads `ctx.observations` (the latest event per context key, recorded
by `run_probe`) and compares each with what the inventory declares.

    missing    declared but not observed: never probed, down, unreachable, no recent backup
    changed    observed, but different from what is declared (version, status, addresses,
               a pinned ssh host key …), or, where nothing is declared, an identity (host
               key, certificate, address set) different from the previous observation
    unmanaged  observed but not declared (an observation for an entity the inventory no
               longer lists, or a fact such as a version the inventory leaves undeclared)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.dns import differences
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.types import (
    AccessPathChecked,
    AccessPathCheckedAttributes,
    DriftRecord,
    DriftSummary,
    EndpointVerified,
    InventoryDrift,
    ServiceObserved,
)
from ops_evidence.probes.base import ProbeContext, ProbeTarget, make_event, verdict
from ops_evidence.probes.identity import TLS_FINGERPRINT
from ops_evidence.probes.plan import derived, plan

_MAX_RECORDS = 50
# How long an identity change between runs stays in drift: a day, or two drift intervals if
# that is longer, so at least one drift event carries it, and then it is over.
IDENTITY_REPORTED_FOR = timedelta(hours=24)
# Endpoint failures that mean the answer differs rather than that nothing answered.
_ENDPOINT_CHANGED = {
    "unexpected_status": "status",
    "header_mismatch": "headers",
    "json_mismatch": "json_field",
    "tls_expiring": "tls_days_remaining",
}


def _record(
    kind: str, key: str, attribute: str, declared: Any, observed: Any, *, detail: str | None = None
) -> DriftRecord:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)[:200]

    return DriftRecord.model_validate(
        {
            "kind": kind,
            "entity": key,
            "attribute": attribute,
            "declared": text(declared),
            "observed": text(observed),
            "detail": text(detail),
        }
    )


def _service(event: ServiceObserved) -> list[DriftRecord]:
    a, key = event.attributes, event.context_key
    records = []
    if a.status == "down":
        records.append(_record("missing", key, "status", "up", a.reason or "down"))
    elif a.status == "degraded":
        records.append(_record("changed", key, "status", "up", "degraded"))
    if a.declared_version and a.observed_version and a.declared_version != a.observed_version:
        records.append(_record("changed", key, "version", a.declared_version, a.observed_version))
    if a.observed_version and not a.declared_version:
        records.append(_record("unmanaged", key, "version", None, a.observed_version))
    return records


def _endpoint(event: EndpointVerified) -> list[DriftRecord]:
    a, key = event.attributes, event.context_key
    if a.verified:
        return []
    if a.observed_status is None:
        return [_record("missing", key, "reachable", "reachable", a.reason)]
    attribute = _ENDPOINT_CHANGED.get(a.reason or "", "answer")
    declared: Any = a.expected_status if attribute == "status" else a.reason
    observed: Any = a.observed_status if attribute == "status" else a.message
    if attribute == "tls_days_remaining":
        declared, observed = f">= {a.tls_min_days}", a.tls_days_remaining
    return [_record("changed", key, attribute, declared, observed)]


def _failing_addresses(event: EndpointVerified, records: list[DriftRecord]) -> list[DriftRecord]:
    """A `per_address` endpoint's records say which addresses failed, and why."""
    failing = [f"{v.address} {v.reason}" for v in event.attributes.addresses if not v.verified]
    if not failing:
        return records
    detail = f"failing: {', '.join(failing)}"[:200]
    return [r if r.detail else r.model_copy(update={"detail": detail}) for r in records]


def _addresses(a: AccessPathCheckedAttributes, key: str) -> DriftRecord:
    """The declared and the resolved address sets, and in words what is missing and extra."""
    declared, observed = ",".join(a.declared_addresses), ",".join(a.resolved_addresses)
    detail = differences(a.missing_addresses, a.extra_addresses) or None
    return _record("changed", key, "addresses", declared, observed or None, detail=detail)


def _access_path(event: AccessPathChecked) -> list[DriftRecord]:
    a, key = event.attributes, event.context_key
    if a.verified:
        return []
    if a.reason == "address_mismatch":
        return [_addresses(a, key)]
    if a.reason == "host_key_mismatch":
        declared = ",".join(a.ssh_expected_fingerprints)
        observed = ",".join(k.fingerprint for k in a.ssh_host_keys)
        return [_record("changed", key, "host_key", declared, observed)]
    return [_record("missing", key, "reachable", "reachable", a.reason)]


def compare(event: EvidenceEvent) -> list[DriftRecord]:
    """Drift records for one latest observation of a declared entity."""
    if isinstance(event, ServiceObserved):
        return _service(event)
    if isinstance(event, EndpointVerified):
        return _failing_addresses(event, _endpoint(event))
    if isinstance(event, AccessPathChecked):
        return _access_path(event)
    if not event.attributes.verified:
        return [
            _record(
                "missing", event.context_key, "recent_backup", "recent", event.attributes.reason
            )
        ]
    return []


def identity_records(ctx: ProbeContext, keys: list[str]) -> list[DriftRecord]:
    """`changed` records for identities that differ from the previous observation (before:
    `declared`, after: `observed`), recent enough to report and not a certificate renewal."""
    # An environment has no schedule of its own: drift runs at the inventory's default interval.
    since = ctx.now() - max(IDENTITY_REPORTED_FOR, 2 * ctx.inventory.defaults.interval)
    renewal = timedelta(days=ctx.inventory.defaults.tls_renewal_days)
    records = []
    for key in keys:
        for change in ctx.observations.identity_changes(key):
            expires = change.before.expires
            # A certificate replaced inside its renewal window is routine (ACME), not drift.
            renewed = expires is not None and expires - change.when <= renewal
            if change.when < since or (change.attribute == TLS_FINGERPRINT and renewed):
                continue
            detail = f"not declared; changed between runs at {change.when:%Y-%m-%dT%H:%M:%SZ}"
            before, after = change.before.value, change.after.value
            records.append(_record("changed", key, change.attribute, before, after, detail=detail))
    return records


def drift_records(ctx: ProbeContext, environment: str) -> list[DriftRecord]:
    """Every drift record for one environment, from the observations only."""
    declared = [
        t for t in plan(ctx.inventory) if t.environment == environment and not derived(t.event_type)
    ]
    keys = {t.context_key for t in declared}
    records: list[DriftRecord] = []
    for target in declared:
        latest = ctx.observations.latest(target.context_key)
        if latest is None:
            records.append(_record("missing", target.context_key, "observation", "probed", None))
        else:
            records += compare(latest)
    for event in ctx.observations.all():
        if (
            event.attributes.environment == environment
            and event.context_key not in keys
            and not derived(event.event_type)
        ):
            records.append(_record("unmanaged", event.context_key, "entity", None, "observed"))
    return records + identity_records(ctx, [t.context_key for t in declared])


def _event(ctx: ProbeContext, target: ProbeTarget, records: list[DriftRecord]) -> EvidenceEvent:
    summary = DriftSummary(
        changed=sum(r.kind == "changed" for r in records),
        missing=sum(r.kind == "missing" for r in records),
        unmanaged=sum(r.kind == "unmanaged" for r in records),
    )
    failure = None
    if records:
        counts = (
            f"{summary.changed} changed, {summary.missing} missing, {summary.unmanaged} unmanaged"
        )
        failure = Failure.of("drift", f"{target.entity_id}: {counts}")
    attributes = {
        "records": [r.model_dump() for r in records[:_MAX_RECORDS]],
        "summary": summary.model_dump(),
        "truncated": len(records) > _MAX_RECORDS,
        **verdict(failure),
    }
    return make_event(InventoryDrift, ctx, target, attributes)


def failure_event(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    return make_event(InventoryDrift, ctx, target, verdict(failure))


async def probe_drift(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Compare the environment's declared entities with their latest observations."""
    return _event(ctx, target, drift_records(ctx, target.entity_id))
