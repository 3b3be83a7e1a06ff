"""Event type name -> model class, resolved from the table in `events.vocabulary`.

`events.types` imports only the envelope (no registry, no vocabulary), and is imported here
on first use, not with the package: building its models takes tens of milliseconds that a
command which only needs the envelope or the vocabulary should not pay. A type's model is
looked up by the class name its `EventTypeSpec` gives, each time, so a row added to the
table (a test-only type) is seen without a cache to reset.
"""

from __future__ import annotations

from typing import Any

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.events.vocabulary import EVENT_TYPES


def event_model(event_type: str) -> type[EvidenceEvent]:
    """The model class of an event type; KeyError for an unknown type."""
    from ops_evidence.events import types

    spec = EVENT_TYPES[event_type]
    model = getattr(types, spec.model, None)
    if not (isinstance(model, type) and issubclass(model, EvidenceEvent)):
        raise TypeError(f"{event_type}: events.types has no event model {spec.model!r}")
    if event_type != model.EVENT_TYPE:
        raise TypeError(f"{event_type}: {spec.model}.EVENT_TYPE is {model.EVENT_TYPE!r}")
    return model


def event_types() -> list[str]:
    """All declared event type names, in declaration order."""
    return list(EVENT_TYPES)


def parse_event(data: dict[str, Any]) -> EvidenceEvent:
    """Validate a stored/serialised event back into its typed model."""
    return event_model(str(data.get("event_type"))).model_validate(data)
