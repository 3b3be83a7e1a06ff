"""Each evidence rule, positive and negative, as the catalog's gates use it."""

from __future__ import annotations

from ops_evidence.events.gate_catalog import GateStatus, load_catalog
from ops_evidence.probes.readiness.rollout_outcomes import RolloutCommand, RolloutOutcome
from ops_evidence.probes.readiness.rules import RULES, GateEvidence, aggregate
from tests.probes.readiness.evidence import (
    STALE,
    backup,
    backup_seen,
    catalogued_service,
    endpoint,
    endpoint_seen,
    environment,
    evidence,
    inventory,
    outcome,
    service_seen,
)

Rollout = dict[RolloutCommand, RolloutOutcome]


def rule(gate_id: str, ev: GateEvidence) -> tuple[GateStatus, list[str]]:
    """The status and reasons of the rule the catalog attaches to `gate_id`."""
    gate = load_catalog().gate(gate_id)
    assert gate.rule is not None
    return aggregate(RULES[gate.rule.kind](ev, gate.rule))


# OPS-G01: environments


def test_g01_ready_when_every_seed_environment_is_fully_declared() -> None:
    """The four seed environments with role, lifecycle and owner: ready."""
    status, reasons = rule("OPS-G01", evidence(inventory()))
    assert status == "ready"
    assert reasons == ["all 4 required environments meet the requirement"]


def test_g01_partial_names_the_missing_environment_and_fields() -> None:
    """A missing seed environment and one without owner or lifecycle: partial, both named."""
    envs = [
        environment("local"),
        environment("coulombcore", owner=None, lifecycle="unknown"),
        environment("railiance01"),
    ]
    status, reasons = rule("OPS-G01", evidence(inventory(environments=envs)))
    assert status == "partial"
    assert "2 of 4 required environments meet the requirement" in reasons
    assert "environment coulombcore: no lifecycle, owner" in reasons
    assert "environment threephoenix-prod: not in the inventory" in reasons


def test_g01_example_inventory_is_partial_like_the_seed() -> None:
    """The shipped Railiance inventory declares an owner only for `local`: partial, as the seed."""
    from ops_evidence.inventory import load_inventory
    from tests.conftest import EXAMPLE_INVENTORY

    status, reasons = rule("OPS-G01", evidence(load_inventory(EXAMPLE_INVENTORY)))
    assert status == "partial"
    assert "environment coulombcore: no owner" in reasons


# OPS-G02: service catalog


def test_g02_ready_with_full_declarations_and_recent_evidence() -> None:
    """A fully declared service observed recently (through its endpoint): ready."""
    inv = inventory(services=[catalogued_service("web")], endpoints=[endpoint("web-root", "web")])
    status, _ = rule("OPS-G02", evidence(inv, endpoint_seen("web-root", verified=False)))
    assert status == "ready"  # a failing check is still evidence that the entry is live


def test_g02_unknown_without_any_evidence_yet() -> None:
    """Declarations complete but nothing observed yet: unknown, no evidence yet."""
    inv = inventory(services=[catalogued_service("web")], endpoints=[endpoint("web-root", "web")])
    status, reasons = rule("OPS-G02", evidence(inv))
    assert status == "unknown"
    assert reasons == ["no evidence yet", "service web: no recent evidence"]


def test_g02_partial_for_declaration_gaps_and_stale_evidence() -> None:
    """Missing owner repo, endpoint, backing stores or lifecycle, or stale evidence: partial."""
    bare = {"id": "db", "environment": "local"}
    inv = inventory(
        services=[catalogued_service("web"), bare], endpoints=[endpoint("web-root", "web")]
    )
    status, reasons = rule("OPS-G02", evidence(inv, service_seen("web", at=STALE)))
    assert status == "partial"
    assert (
        "service db: no owner repo, endpoint, backing stores, lifecycle; no recent evidence"
        in reasons
    )
    # The old observation (11:44) stopped counting three 5m intervals later.
    assert "service web: stale since 2026-06-15 11:59 UTC" in reasons


# OPS-G05: registry endpoint


NO_PUBLISH = "no endpoint declares a publishing check (`publish:`)"


def test_g05_ready_when_a_publish_verified() -> None:
    """The registry endpoint declaring `publish:` verified recently with a verified publish,
    the route-only registry endpoint too: ready, no manual part."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[
            endpoint("registry", "gitea", registry=True),
            endpoint("publish", "gitea", publish=True),
            endpoint("ui", "gitea"),
        ],
    )
    seen = [
        endpoint_seen("registry", verified=True),
        endpoint_seen("publish", verified=True, publish=True),
    ]
    status, reasons = rule("OPS-G05", evidence(inv, *seen))
    assert status == "ready"
    assert reasons == ["all 2 registry checks meet the requirement"]


def test_g05_partial_when_only_the_route_is_proven() -> None:
    """A verified registry route (401 plus the header) without any `publish:` is a gap: a
    401 proves the route, not publishing, so the gate is partial, never ready."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True), endpoint("ui", "gitea")],
    )
    status, reasons = rule("OPS-G05", evidence(inv, endpoint_seen("registry", verified=True)))
    assert status == "partial"
    assert reasons == ["1 of 2 registry checks meet the requirement", NO_PUBLISH]


def test_g05_blocked_when_the_push_is_refused() -> None:
    """A refused push is a missing precondition: blocked, with the step and status."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True, publish=True)],
    )
    seen = endpoint_seen("registry", verified=True, publish=False)
    status, reasons = rule("OPS-G05", evidence(inv, seen))
    assert status == "blocked"
    assert "endpoint:registry: push refused: blob upload 401 (denied)" in reasons


def test_g05_needs_publish_evidence_not_only_a_verified_route() -> None:
    """A `publish:` endpoint whose recent observation has no publish (observed before it was
    declared) has no proof yet; a stale publish counts no more than none."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True, publish=True)],
    )
    status, reasons = rule("OPS-G05", evidence(inv, endpoint_seen("registry", verified=True)))
    assert (status, reasons) == (
        "unknown",
        ["no evidence yet", "endpoint:registry: no recent publish evidence"],
    )
    stale = endpoint_seen("registry", verified=True, at=STALE, publish=True)
    assert rule("OPS-G05", evidence(inv, stale))[0] == "unknown"
    # A probe that failed before publishing (e.g. timed out) is a failure, not "no evidence".
    timed_out = endpoint_seen("registry", verified=False)
    assert rule("OPS-G05", evidence(inv, timed_out)) == (
        "blocked",
        ["0 of 1 registry checks meet the requirement", "endpoint:registry: unexpected_status"],
    )


def test_g05_blocked_when_the_registry_endpoint_fails() -> None:
    """A failing registry endpoint is a missing precondition: blocked, with the probe's reason."""
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True)],
    )
    status, reasons = rule("OPS-G05", evidence(inv, endpoint_seen("registry", verified=False)))
    assert status == "blocked"
    assert "endpoint:registry: unexpected_status" in reasons


def test_g05_unknown_without_a_registry_endpoint_or_observation() -> None:
    """No registry endpoint declared, or a publishing one never observed: unknown."""
    plain = inventory(services=[catalogued_service("web")], endpoints=[endpoint("ui", "web")])
    assert rule("OPS-G05", evidence(plain)) == (
        "unknown",
        ["no registry checks in the inventory"],
    )
    inv = inventory(
        services=[catalogued_service("gitea")],
        endpoints=[endpoint("registry", "gitea", registry=True, publish=True)],
    )
    assert rule("OPS-G05", evidence(inv))[0] == "unknown"


# OPS-G06: backups


def test_g06_ready_when_every_store_has_a_recent_verified_backup() -> None:
    """Every backing store and backed-up store verified recently: ready."""
    inv = inventory(
        services=[catalogued_service("app", backing_stores=["db"])],
        backups=[backup("db-files", "db"), backup("media-files", "media")],
    )
    ev = evidence(inv, backup_seen("db-files", True), backup_seen("media-files", True))
    assert rule("OPS-G06", ev) == ("ready", ["all 2 persistent stores meet the requirement"])


def test_g06_blocked_when_a_backup_is_too_old() -> None:
    """A store whose backup check failed: blocked, naming store and reason."""
    inv = inventory(backups=[backup("db-files", "db")])
    status, reasons = rule("OPS-G06", evidence(inv, backup_seen("db-files", False)))
    assert status == "blocked"
    assert "store db: backup:db-files: too_old" in reasons


def test_g06_partial_when_a_backing_store_has_no_backup() -> None:
    """A service's backing store with no declared backup is a gap: partial."""
    inv = inventory(
        services=[catalogued_service("app", backing_stores=["db", "cache"])],
        backups=[backup("db-files", "db")],
    )
    status, reasons = rule("OPS-G06", evidence(inv, backup_seen("db-files", True)))
    assert status == "partial"
    assert "store cache: no backup declared" in reasons


def test_g06_unknown_before_any_backup_was_checked() -> None:
    """Declared backups never (or not recently) observed: unknown, no evidence yet."""
    inv = inventory(backups=[backup("db-files", "db")])
    assert rule("OPS-G06", evidence(inv, backup_seen("db-files", True, at=STALE)))[0] == "unknown"


# OPS-G14: health checks and endpoint probes


def test_g14_ready_when_every_service_has_a_check_and_an_endpoint() -> None:
    """Each catalogued service declares a health check and an endpoint probe: rule ready."""
    inv = inventory(services=[catalogued_service("web")], endpoints=[endpoint("root", "web")])
    assert rule("OPS-G14", evidence(inv))[0] == "ready"


def test_g14_partial_names_services_without_check_or_endpoint() -> None:
    """A service with neither: partial, naming what it lacks."""
    inv = inventory(
        services=[catalogued_service("web"), {"id": "db", "environment": "local"}],
        endpoints=[endpoint("root", "web")],
    )
    status, reasons = rule("OPS-G14", evidence(inv))
    assert status == "partial"
    assert "service db: no health check and endpoint probe" in reasons


# OPS-G15: Inter-Hub bootstrap


def test_g15_ready_when_gate_probe_and_smoke_passed() -> None:
    """Recorded gate-probe and smoke passes: ready."""
    rollout: Rollout = {"gate-probe": outcome("gate-probe", True), "smoke": outcome("smoke", True)}
    assert rule("OPS-G15", evidence(inventory(), rollout=rollout))[0] == "ready"


def test_g15_partial_blocked_and_unknown() -> None:
    """Gate-probe only: partial; a failed smoke: blocked; nothing recorded: unknown."""
    only_probe: Rollout = {"gate-probe": outcome("gate-probe", True)}
    assert rule("OPS-G15", evidence(inventory(), rollout=only_probe))[0] == "partial"
    failed: Rollout = {
        **only_probe,
        "smoke": outcome("smoke", False, "FAILED: ops-backup-verified"),
    }
    status, reasons = rule("OPS-G15", evidence(inventory(), rollout=failed))
    assert status == "blocked"
    assert "smoke failed on 2026-06-15: FAILED: ops-backup-verified" in reasons
    status, reasons = rule("OPS-G15", evidence(inventory()))
    assert status == "unknown"
    assert "smoke: no recorded outcome (run `ops-evidence smoke --record`)" in reasons
