"""A test-only event type, `ops-restore-tested`, added exactly as docs/operations.md says a
new type is added ("Adding an event type"): its model plus its row in the table of event
types (`events.vocabulary.EVENT_TYPES`), and its probe plus its row in `probes.registry.PROBES`.

`add_restore_tested(monkeypatch)` makes those two edits for one test and monkeypatch undoes
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

RESTORE_TESTED = "ops-restore-tested"


class RestoreTestedAttributes(Attributes):
    """A backup was restored into a scratch place and read back."""

    backup: str = Field(description="Inventory backup id.")
    store: str


class RestoreTested(EvidenceEvent):
    """`ops-restore-tested`: a restore test of a backup (exists only in the tests)."""

    EVENT_TYPE = RESTORE_TESTED
    SAMPLE_ATTRIBUTES: ClassVar[Mapping[str, Any]] = {"backup": "smoke", "store": "smoke"}
    event_type: Literal["ops-restore-tested"]
    attributes: RestoreTestedAttributes


SPEC = EventTypeSpec(
    RESTORE_TESTED,
    model="RestoreTested",
    widget_type="ops-backup-card",
    section="backups",
    prefix="restore",
    widget_name_prefix="ops-restore-",
)


def _attributes(ctx: ProbeContext, target: ProbeTarget, failure: Failure | None) -> dict[str, Any]:
    backup = entity(ctx.inventory, "backups", target.entity_id, Backup)
    return {"backup": backup.id, "store": backup.store, **verdict(failure)}


async def probe_restore(ctx: ProbeContext, target: ProbeTarget) -> EvidenceEvent:
    """Pretend the restore worked: the point is the plumbing, not the check."""
    return make_event(RestoreTested, ctx, target, _attributes(ctx, target, None))


def restore_failed(ctx: ProbeContext, target: ProbeTarget, failure: Failure) -> EvidenceEvent:
    return make_event(RestoreTested, ctx, target, _attributes(ctx, target, failure))


def add_restore_tested(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two documented edits, undone when the test ends."""
    # Edit 1, events/: the model in `events/types.py` and its row in the table.
    monkeypatch.setattr(types, "RestoreTested", RestoreTested, raising=False)
    monkeypatch.setitem(EVENT_TYPES, RESTORE_TESTED, SPEC)
    # Edit 2, probes/: the probe and its row in `PROBES`.
    monkeypatch.setitem(PROBES, RESTORE_TESTED, ProbeSpec(probe_restore, restore_failed))
