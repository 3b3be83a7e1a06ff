"""The evidence rules: one function per `rule.kind` of the catalog.

A rule looks at the inventory, the latest observations of the probes and the recorded
rollout outcomes, and returns one finding per item the gate requires (an environment, a
service, a store …). A finding is `ok`, a declaration `gap`, a `failed` observation, or
`unseen` (no recent evidence yet, or only evidence older than its freshness limit: "stale
since …"). Each finding names the evidence it used (`Finding.used`). `aggregate` turns the
findings into a status:

    no items      unknown   nothing the rule could judge
    all ok        ready
    all unseen    unknown   no evidence yet
    any failed    blocked   the evidence shows a required precondition missing
    otherwise     partial

Rules make no network calls: the service runs the readiness probe after the observation probes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.gate_catalog import Rule, SeedStatus
from ops_evidence.events.vocabulary import context_key
from ops_evidence.inventory.models import Endpoint, Inventory
from ops_evidence.probes.base import Observations
from ops_evidence.probes.plan import plan
from ops_evidence.probes.readiness.rollout_outcomes import (
    COMMANDS,
    RolloutCommand,
    RolloutOutcome,
    load_outcomes,
)

FindingState = Literal["ok", "gap", "failed", "unseen"]
# An observation older than this many probe intervals no longer counts as recent: one or two
# late runs are tolerated, a probe that stopped running is not.
STALE_AFTER_INTERVALS = 3
REGISTRY_HEADER = "docker-distribution-api-version"


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """One piece of evidence a finding rests on: an observation's context key and run, or a
    recorded outcome / inventory entry (`rollout:smoke`, `inventory:gates.OPS-G05`) without
    a run."""

    context_key: str
    run_id: str | None = None
    observed_at: datetime | None = None

    @classmethod
    def of(cls, event: EvidenceEvent) -> EvidenceRef:
        """The reference to an observation."""
        return cls(event.context_key, event.run_id, event.observed_at)


@dataclass(frozen=True, slots=True)
class Finding:
    """One required item, what the evidence says about it, and the evidence it used."""

    state: FindingState
    text: str
    used: tuple[EvidenceRef, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's findings; `noun` names the items (`catalogued services`)."""

    noun: str
    findings: list[Finding]


def planned_intervals(inventory: Inventory) -> dict[str, timedelta]:
    """Every planned context key's interval, for `GateEvidence.intervals`."""
    return {t.context_key: t.interval for t in plan(inventory)}


@dataclass
class GateEvidence:
    """Everything the rules may read: inventory, latest observations, now, and the rollout
    outcomes recorded in `state_dir`."""

    inventory: Inventory
    observations: Observations
    now: datetime
    # Each planned context key's interval (`planned_intervals`): how old is too old.
    intervals: Mapping[str, timedelta]
    state_dir: Path | None = None

    @functools.cached_property
    def rollout(self) -> Mapping[RolloutCommand, RolloutOutcome]:
        """The recorded `gate-probe` / `smoke` outcomes: read on first use, by the one rule
        that needs them (not once per gate evaluated)."""
        return load_outcomes(self.state_dir)

    def recent(self, key: str) -> EvidenceEvent | None:
        """The latest observation of a planned target, unless it is stale."""
        event = self.observations.latest(key)
        interval = self.intervals.get(key)
        if event is None or interval is None:
            return None
        if self.now - event.observed_at > interval * STALE_AFTER_INTERVALS:
            return None
        return event

    def stale_since(self, key: str) -> datetime | None:
        """When the latest observation of a planned target stops (or stopped) counting: its
        time plus the freshness limit. None without an observation or a plan for it."""
        event = self.observations.latest(key)
        interval = self.intervals.get(key)
        if event is None or interval is None:
            return None
        return event.observed_at + interval * STALE_AFTER_INTERVALS

    def unseen(self, key: str, label: str | None = None) -> Finding:
        """The finding for a key without recent evidence: "stale since …" when an older
        observation exists, else "no recent evidence"."""
        stale = self.stale_since(key)
        what = (
            f"stale since {stale.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if stale
            else "no recent evidence"
        )
        return Finding("unseen", f"{label or key}: {what}")

    def endpoints_of(self, service_id: str) -> list[Endpoint]:
        """The endpoints declared for a service."""
        return [e for e in self.inventory.endpoints if e.service == service_id]


def judge(evidence: GateEvidence, key: str) -> Finding:
    """A finding from the latest recent observation of one context key."""
    event = evidence.recent(key)
    if event is None:
        return evidence.unseen(key)
    used = (EvidenceRef.of(event),)
    if event.attributes.verified:
        return Finding("ok", key, used)
    return Finding("failed", f"{key}: {event.attributes.reason or 'not verified'}", used)


def _gap_or_ok(label: str, missing: list[str], joiner: str = ", ") -> Finding:
    if missing:
        return Finding("gap", f"{label}: no {joiner.join(missing)}")
    return Finding("ok", label)


def environments(evidence: GateEvidence, rule: Rule) -> RuleResult:
    """OPS-G01: each required environment is declared with role, lifecycle and owner."""
    declared = {e.id: e for e in evidence.inventory.environments}
    findings = []
    for env_id in rule.environments or tuple(declared):
        env = declared.get(env_id)
        if env is None:
            findings.append(Finding("gap", f"environment {env_id}: not in the inventory"))
            continue
        missing = [
            name
            for name, absent in (
                ("role", not env.role.strip()),
                ("lifecycle", env.lifecycle == "unknown"),
                ("owner", env.owner is None),
            )
            if absent
        ]
        findings.append(_gap_or_ok(f"environment {env_id}", missing))
    return RuleResult("required environments", findings)


def service_catalog(evidence: GateEvidence, _rule: Rule) -> RuleResult:
    """OPS-G02: each service declares owner repo, endpoint, backing stores and lifecycle, and
    has recent evidence (an observation of the service or of one of its endpoints)."""
    findings = []
    for service in evidence.inventory.services:
        endpoints = evidence.endpoints_of(service.id)
        missing = [
            name
            for name, absent in (
                ("owner repo", service.owner_repo is None),
                ("endpoint", not endpoints),
                # An explicit `backing_stores: []` declares a stateless service; omitting it
                # is a gap.
                ("backing stores", "backing_stores" not in service.model_fields_set),
                ("lifecycle", service.lifecycle == "unknown"),
            )
            if absent
        ]
        keys = [context_key("ops-service-observed", service.id)]
        keys += [context_key("ops-endpoint-verified", e.id) for e in endpoints]
        used = tuple(EvidenceRef.of(e) for k in keys if (e := evidence.recent(k)) is not None)
        label = f"service {service.id}"
        if missing:
            suffix = "" if used else "; no recent evidence"
            findings.append(Finding("gap", f"{label}: no {', '.join(missing)}{suffix}", used))
        elif used:
            findings.append(Finding("ok", label, used))
        else:
            # Name the staleness of whichever key was observed once, if any was.
            stale = next((k for k in keys if evidence.stale_since(k)), keys[0])
            findings.append(evidence.unseen(stale, label))
    return RuleResult("catalogued services", findings)


def registry_endpoint(evidence: GateEvidence, _rule: Rule) -> RuleResult:
    """OPS-G05: every registry endpoint (expects `Docker-Distribution-Api-Version`, or declares
    `publish:`) verified recently, and a publish proves push and pull: a `publish:` endpoint
    counts only with a recent verified publish, and without any the gate stays `partial`."""
    registries = [
        e
        for e in evidence.inventory.endpoints
        if e.publish is not None or any(h.lower() == REGISTRY_HEADER for h in e.expect.headers)
    ]
    findings = [_registry_finding(evidence, e) for e in registries]
    if registries and not any(e.publish is not None for e in registries):
        # A 401 with the header proves the route, not that anyone can publish.
        findings.append(Finding("gap", "no endpoint declares a publishing check (`publish:`)"))
    # "checks": the missing publish is counted with the endpoints, and is not one of them.
    return RuleResult("registry checks", findings)


def _registry_finding(evidence: GateEvidence, endpoint: Endpoint) -> Finding:
    """`judge`'s finding, held to the publish for an endpoint declaring one."""
    key = context_key("ops-endpoint-verified", endpoint.id)
    finding = judge(evidence, key)
    event = evidence.recent(key)
    if endpoint.publish is None or event is None:
        return finding
    publish = getattr(event.attributes, "publish", None)
    if publish is None:
        # A failure without a publish (a timeout, a crash) stays the failure; a verified route
        # observed before `publish:` was declared is no proof yet.
        if finding.state != "ok":
            return finding
        return replace(finding, state="unseen", text=f"{key}: no recent publish evidence")
    if not publish.verified:
        return replace(finding, state="failed", text=f"{key}: {publish.reason}")
    return finding


def backups(evidence: GateEvidence, _rule: Rule) -> RuleResult:
    """OPS-G06: every persistent store (a service's backing store, or a backed-up store) has
    a declared backup whose latest recent observation verified."""
    inventory = evidence.inventory
    stores = [s for service in inventory.services for s in service.backing_stores]
    stores = list(dict.fromkeys(stores + [b.store for b in inventory.backups]))
    findings = []
    for store in stores:
        label = f"store {store}"
        covering = [b for b in inventory.backups if b.store == store]
        judged = [judge(evidence, context_key("ops-backup-verified", b.id)) for b in covering]
        failed = [f.text for f in judged if f.state == "failed"]
        used = tuple(ref for f in judged for ref in f.used)
        stale = [f.text for f in judged if "stale since" in f.text]
        if not covering:
            findings.append(Finding("gap", f"{label}: no backup declared"))
        elif any(f.state == "ok" for f in judged):
            findings.append(Finding("ok", label, used))
        elif failed:
            findings.append(Finding("failed", f"{label}: {failed[0]}", used))
        else:
            text = stale[0] if stale else "no recent backup evidence"
            findings.append(Finding("unseen", f"{label}: {text}"))
    return RuleResult("persistent stores", findings)


def restore_drills(evidence: GateEvidence, rule: Rule) -> RuleResult:
    """OPS-G07: each store the gate names has a backup declaring a restore drill whose latest
    recent `ops-restore-tested` verified (restored, checked, scratch removed)."""
    findings = []
    for store in rule.stores:
        label = f"store {store}"
        covering = [b for b in evidence.inventory.backups if b.store == store]
        drilled = [b for b in covering if b.restore is not None]
        judged = [judge(evidence, context_key("ops-restore-tested", b.id)) for b in drilled]
        passed = [f for f in judged if f.state == "ok"]
        failed = [f for f in judged if f.state == "failed"]
        stale = [f.text for f in judged if "stale since" in f.text]
        if not covering:
            findings.append(Finding("gap", f"{label}: no backup declared"))
        elif not drilled:
            findings.append(Finding("gap", f"{label}: no restore drill declared"))
        elif passed:
            findings.append(Finding("ok", label, passed[0].used))
        elif failed:
            used = tuple(ref for f in failed for ref in f.used)
            findings.append(Finding("failed", f"{label}: {failed[0].text}", used))
        else:
            text = stale[0] if stale else "no recent restore drill"
            findings.append(Finding("unseen", f"{label}: {text}"))
    return RuleResult("stores needing a restore drill", findings)


def health_checks(evidence: GateEvidence, _rule: Rule) -> RuleResult:
    """OPS-G14: every catalogued service has a health check and an endpoint probe."""
    findings = []
    for service in evidence.inventory.services:
        missing = [] if service.check else ["health check"]
        missing += [] if evidence.endpoints_of(service.id) else ["endpoint probe"]
        findings.append(_gap_or_ok(f"service {service.id}", missing, " and "))
    return RuleResult("catalogued services", findings)


def inter_hub_bootstrap(evidence: GateEvidence, _rule: Rule) -> RuleResult:
    """OPS-G15: the recorded `gate-probe` (API, key, mapped widgets) and `smoke` (each declared
    type accepted, an undeclared one rejected) outcomes both passed."""
    findings = []
    for command in COMMANDS:
        outcome = evidence.rollout.get(command)
        if outcome is None:
            text = f"{command}: no recorded outcome (run `ops-evidence {command} --record`)"
            findings.append(Finding("unseen", text))
            continue
        # A recorded outcome has no run id: its time names it.
        used = (EvidenceRef(f"rollout:{command}", observed_at=outcome.at),)
        if outcome.ok:
            findings.append(Finding("ok", f"{command} passed on {outcome.at:%Y-%m-%d}", used))
        else:
            text = f"{command} failed on {outcome.at:%Y-%m-%d}: {outcome.detail}"
            findings.append(Finding("failed", text, used))
    return RuleResult("rollout checks", findings)


RULES: dict[str, Callable[[GateEvidence, Rule], RuleResult]] = {
    "environments": environments,
    "service-catalog": service_catalog,
    "registry-endpoint": registry_endpoint,
    "backups": backups,
    "health-checks": health_checks,
    "inter-hub-bootstrap": inter_hub_bootstrap,
    "restore-drills": restore_drills,
}
_ORDER: dict[FindingState, int] = {"failed": 0, "gap": 1, "unseen": 2, "ok": 3}


def aggregate(result: RuleResult) -> tuple[SeedStatus, list[str]]:
    """A rule's status and reasons (a count first, then the problems, worst first)."""
    findings = result.findings
    if not findings:
        return "unknown", [f"no {result.noun} in the inventory"]
    states = {f.state for f in findings}
    ok = sum(f.state == "ok" for f in findings)
    problems = [f.text for f in sorted(findings, key=lambda f: _ORDER[f.state]) if f.state != "ok"]
    if states == {"ok"}:
        return "ready", [f"all {ok} {result.noun} meet the requirement"]
    if states == {"unseen"}:
        return "unknown", ["no evidence yet", *problems]
    status: SeedStatus = "blocked" if "failed" in states else "partial"
    return status, [f"{ok} of {len(findings)} {result.noun} meet the requirement", *problems]
