"""Router: rows planned at enqueue, and the meaning of each attempt outcome."""

from __future__ import annotations

import json
import random

import pytest

from ops_evidence.config.settings import Settings, load_settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.outbox import MemoryOutbox
from ops_evidence.delivery.outbox.models import Delivery, Result
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.base import Attempt, AttemptKind
from tests.factories import endpoint_event

pytestmark = pytest.mark.anyio
MAPPING = '{"entities": {"endpoint:reg": "w-reg"}}'


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Inter-Hub fully configured with one per-entity widget."""
    monkeypatch.setenv("INTER_HUB_URL", "https://hub.test")
    monkeypatch.setenv("OPS_HUB_KEY", "k-0123456789")
    monkeypatch.setenv("OPS_HUB_WIDGET_MAPPING", MAPPING)
    return load_settings()


def _router(settings: Settings, now: float = 1000.0) -> Router:
    return Router(
        settings, RetryPolicy(horizon=3600, fallback_after=600), random.Random(3), clock=lambda: now
    )


async def _planned(router: Router, entity: str = "reg") -> tuple[MemoryOutbox, Delivery]:
    outbox = MemoryOutbox()
    await outbox.open()
    stored, deliveries = router.plan(endpoint_event(entity), "ctx/view")
    await outbox.enqueue(stored, deliveries)
    [first] = await outbox.deliveries(sink="inter-hub")
    return outbox, first


async def test_plan_mapped_event_fixes_the_body(settings: Settings) -> None:
    """A mapped event gets one inter-hub delivery whose body is final at enqueue."""
    outbox, delivery = await _planned(_router(settings))
    body = json.loads(delivery.body or b"")
    assert (body["widgetId"], body["viewContext"]) == ("w-reg", "ctx/view")
    assert body["metadata"]["idempotencyKey"] == delivery.key
    assert await outbox.deliveries(sink="state-hub") == []


async def test_plan_unmapped_event_goes_to_fallback(settings: Settings) -> None:
    """No widget: a visible missing_widget_mapping row plus a State Hub delivery."""
    outbox, delivery = await _planned(_router(settings), entity="other")
    assert delivery.status == "missing_widget_mapping"
    [fallback] = await outbox.deliveries(sink="state-hub")
    detail = json.loads(fallback.body or b"")["detail"]
    assert detail["inter_hub_status"] == "missing_widget_mapping"


async def test_plan_without_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unconfigured Inter-Hub: missing_inter_hub_config row and a State Hub delivery."""
    outbox, delivery = await _planned(_router(load_settings()))
    assert delivery.status == "missing_inter_hub_config"
    assert len(await outbox.deliveries(sink="state-hub")) == 1


async def test_plan_forced_inter_hub_with_submission_off(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPS_EVIDENCE_SINK=inter-hub with OPS_EVIDENCE_INTER_HUB_SUBMIT=false: the Inter-Hub row
    is held (deferred, re-checked later, never attempted now) and the State Hub copy is
    planned at enqueue, so nothing is posted to Inter-Hub and nothing waits on it."""
    monkeypatch.setenv("OPS_EVIDENCE_SINK", "inter-hub")
    monkeypatch.setenv("OPS_EVIDENCE_INTER_HUB_SUBMIT", "false")
    router = _router(load_settings())
    outbox, delivery = await _planned(router)
    assert delivery.status == "inter_hub_sink_deferred"
    assert delivery.next_attempt_at == 1000.0 + router.policy.defer_recheck
    assert await outbox.claim("inter-hub", 1000.0, 10, 60.0) == []
    [fallback] = await outbox.deliveries(sink="state-hub")
    detail = json.loads(fallback.body or b"")["detail"]
    assert detail["inter_hub_status"] == "inter_hub_sink_deferred"


async def _decide(settings: Settings, kind: AttemptKind, **kw: object) -> tuple[Router, Result]:
    router = _router(settings)
    _, delivery = await _planned(router)
    attempt = Attempt(kind, **kw)  # type: ignore[arg-type]
    return router, router.decide(delivery, attempt, 1001.0)


@pytest.mark.parametrize(
    ("kind", "status", "fallback"),
    [
        ("delivered", "delivered", False),
        ("duplicate", "duplicate", False),
        ("transient", "retrying", False),
        ("auth", "retrying", True),
        ("undeclared", "inter_hub_sink_deferred", True),
        ("rejected", "rejected", True),
        ("unroutable", "missing_widget_mapping", True),
    ],
)
async def test_outcome_mapping(
    settings: Settings, kind: AttemptKind, status: str, fallback: bool
) -> None:
    """Each attempt kind maps to its status; State Hub fallback where Inter-Hub cannot take it."""
    _, result = await _decide(settings, kind, http_status=400)
    assert result.status == status
    assert (result.fallback is not None) == fallback
    if result.fallback is not None:
        detail = json.loads(result.fallback.body or b"")["detail"]
        assert detail["inter_hub_status"] == status


async def test_transient_backoff_honours_retry_after(settings: Settings) -> None:
    """A transient failure is retried no earlier than Retry-After."""
    _, result = await _decide(settings, "transient", retry_after=120.0, ambiguous=True)
    assert result.next_attempt_at >= 1001.0 + 120
    assert result.ambiguous is True


@pytest.mark.parametrize("kind", ["transient", "auth"])
async def test_ambiguity_survives_a_failed_read_back(settings: Settings, kind: AttemptKind) -> None:
    """A read-back that failed (a transient error, or a 401/403) keeps the delivery ambiguous,
    so the next attempt reads back again instead of posting."""
    _, result = await _decide(settings, kind, http_status=403, ambiguous=True)
    assert (result.status, result.ambiguous) == ("retrying", True)


async def test_dead_keeps_the_ambiguity(settings: Settings) -> None:
    """A delivery that gives up while ambiguous stays ambiguous: a replay reads back first."""
    router = _router(settings)
    _, delivery = await _planned(router)
    attempt = Attempt("transient", ambiguous=True)
    result = router.decide(delivery, attempt, 1000.0 + 7200)
    assert (result.status, result.ambiguous) == ("dead", True)


async def test_past_horizon_is_dead_with_fallback(settings: Settings) -> None:
    """Transient failures past the give-up horizon become dead, kept and replayable."""
    router = _router(settings)
    _, delivery = await _planned(router)
    result = router.decide(delivery, Attempt("transient"), 1000.0 + 7200)
    assert result.status == "dead"
    assert result.fallback is not None


async def test_undeclared_type_is_deferred_without_sending(settings: Settings) -> None:
    """After an undeclared answer, later events of that type are deferred before sending."""
    router, _ = await _decide(settings, "undeclared")
    _, delivery = await _planned(router)
    held = router.before_send(delivery, 1002.0)
    assert held is not None
    assert held.status == "inter_hub_sink_deferred"
    assert held.count_attempt is False
    assert held.fallback is not None  # the evidence still reaches State Hub
    later = 1002.0 + router.policy.defer_recheck + 1
    assert router.before_send(delivery, later) is None
