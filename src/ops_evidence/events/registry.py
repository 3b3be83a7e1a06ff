"""Event type name -> model class; filled by `@register` in `events.types`."""

from __future__ import annotations

from typing import Any, TypeVar

from ops_evidence.events.envelope import EvidenceEvent

_T = TypeVar("_T", bound=type[EvidenceEvent])

EVENT_MODELS: dict[str, type[EvidenceEvent]] = {}


def register(model: _T) -> _T:
    """Class decorator: make an event model known to schemas, router and manifest."""
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


def _load() -> None:
    # Importing the module runs its @register decorators; deferred to avoid an import cycle.
    import ops_evidence.events.types  # noqa: F401
