"""Event type name -> model class, for the models `events.types` declares.

`events.types` imports only the envelope (no registry), and is imported here on first use,
not with the package: building its models takes tens of milliseconds that a command which
only needs the envelope or the vocabulary should not pay.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from ops_evidence.events.envelope import EvidenceEvent

_T = TypeVar("_T", bound=type[EvidenceEvent])

EVENT_MODELS: dict[str, type[EvidenceEvent]] = {}


def register(model: _T) -> _T:
    """Make an event model known to schemas, router and manifest."""
    if not model.EVENT_TYPE:
        raise TypeError(f"{model.__name__} must set EVENT_TYPE")
    EVENT_MODELS[model.EVENT_TYPE] = model
    return model


def event_model(event_type: str) -> type[EvidenceEvent]:
    """The model class of an event type; KeyError for an unknown type."""
    _load()
    return EVENT_MODELS[event_type]


def event_types() -> list[str]:
    """All registered event type names, in declaration order."""
    _load()
    return list(EVENT_MODELS)


def parse_event(data: dict[str, Any]) -> EvidenceEvent:
    """Validate a stored/serialised event back into its typed model."""
    return event_model(str(data.get("event_type"))).model_validate(data)


@functools.cache
def _load() -> None:
    # Once: register every declared model, in declaration order.
    from ops_evidence.events.types import DECLARED

    for model in DECLARED:
        register(model)
