"""Sample evidence events for `smoke`: one valid event per declared type, marked as smoke.

A smoke event must have the exact shape of real evidence (it goes through the same
`interaction_event_body`), yet never claim a verification that did not happen: it carries
`verified: false` with reason `smoke_test`, besides its smoke `viewContext`. The attributes
each type requires are its model's `SAMPLE_ATTRIBUTES` (`events/types.py`).
"""

from __future__ import annotations

from pydantic import BaseModel

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.registry import event_model

REASON = "smoke_test"
MESSAGE = "ops-evidence smoke test event; not an observation"


def smoke_event(event_type: str, context_key: str, run_id: str) -> EvidenceEvent:
    """A valid `event_type` event for `context_key`, marked as a smoke test."""
    model = event_model(event_type)
    attributes_model = model.model_fields["attributes"].annotation
    if not (isinstance(attributes_model, type) and issubclass(attributes_model, BaseModel)):
        raise TypeError(f"{model.__name__}.attributes is not a model")
    attributes = attributes_model.model_validate(
        {"verified": False, "reason": REASON, "message": MESSAGE, **model.SAMPLE_ATTRIBUTES}
    )
    return model.build(context_key=context_key, attributes=attributes, run_id=run_id)
