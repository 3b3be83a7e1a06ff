"""A test-only event type, `ops-risk-raised` (a later type the seeds name), added exactly as
docs/operations.md says a new type is added ("Adding an event type"): its model plus its row
in the table of event types (`events.vocabulary.EVENT_TYPES`), and its probe plus its row in
`probes.registry.PROBES`.

`add_risk_raised(monkeypatch)` makes those two edits for one test and monkeypatch undoes
them after it; nothing else in the code is told about the type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import pytest
from pydantic import Field

from ops_evidence.checks.base import Failure
from ops_evidence.events import types
from ops_evidence.events.envelope import Attributes, EvidenceEvent
from ops_evidence.events.vocabulary import EVENT_TYPES, EventTypeSpec
from ops_evidence.inventory.models import Backup
from ops_evidence.probes.base import ProbeContext, ProbeTarget, entity, make_event, verdict
from ops_evidence.probes.registry import PROBES, ProbeSpec

RISK_RAISED = "ops-risk-raised"


class RiskRaisedAttributes(Attributes):
    """A risk was raised about a backed-up store."""

    backup: str = Field(description="Inventory backup id.")
    store: str


class RiskRaised(EvidenceEvent):
    """`ops-risk-raised`: a risk about a backup (exists only in the tests)."""

    EVENT_TYPE = RISK_RAISED
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {"backup": "smoke", "store": "smoke"}
    event_type: Literal["ops-risk-raised"]
    attributes: RiskRaisedAttributes


SPEC = EventTypeSpec(
    RISK_RAISED,
    model="RiskRaised",
    widget_type="ops-risk-card",
    section="backups",
    prefix="risk",
    widget_name_prefix="ops-risk-",
)


def _attributes(ctx: ProbeContext, target: ProbeTarget, failure: Failure | None) -> dict[str, Any]:
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    return {"backup": backup.id, "store": backup.store, **verdict(failure)}


async def probe_risk(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Pretend the check worked: the point is the plumbing, not the check."""
    return make_event(RiskRaised, ctx, target, _attributes(ctx, target, None))


def risk_failed(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    return make_event(RiskRaised, ctx, target, _attributes(ctx, target, failure))


def add_risk_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two documented edits, undone when the test ends."""
    # Edit 1, events/: the model in `events/types.py` and its row in the table.
    monkeypatch.setattr(types, "RiskRaised", RiskRaised, raising=False)
    monkeypatch.setitem(EVENT_TYPES, RISK_RAISED, SPEC)
    # Edit 2, probes/: the probe and its row in `PROBES`.
    monkeypatch.setitem(PROBES, RISK_RAISED, ProbeSpec(probe_risk, risk_failed))
