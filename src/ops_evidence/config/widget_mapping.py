"""The widget mapping (`OPS_HUB_WIDGET_MAPPING`): which Inter-Hub widget gets which event.

Shape (JSON):

    {"entities":    {"endpoint:gitea-registry": "<widget id>", ...},
     "event_types": {"ops-endpoint-verified": "<widget id>", ...}}

`entities` are per-entity widgets keyed by context key; `event_types` are aggregate widgets.
Per-entity wins over aggregate. An event with neither is not dropped: it goes to the
fallback with status `missing_widget_mapping`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from ops_evidence.events.vocabulary import EVENT_TYPES

ContextKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]*:[A-Za-z0-9][A-Za-z0-9._-]*$")]
WidgetId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _declared(event_type: str) -> str:
    # Read from the table at validation time, so a type added to it is accepted too.
    if event_type not in EVENT_TYPES:
        names = [repr(name) for name in EVENT_TYPES]
        expected = f"{', '.join(names[:-1])} or {names[-1]}"
        # The error a Literal of the names gave, so the message is what it always was.
        raise PydanticCustomError(
            "literal_error", "Input should be {expected}", {"expected": expected}
        )
    return event_type


EventTypeName = Annotated[str, AfterValidator(_declared)]


class WidgetMapping(BaseModel):
    """Per-entity and per-event-type widget ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entities: dict[ContextKey, WidgetId] = Field(default_factory=dict)
    event_types: dict[EventTypeName, WidgetId] = Field(default_factory=dict)

    def widget_for(self, event_type: str, context_key: str) -> str | None:
        """The widget for an event: its entity's widget, else its type's, else None."""
        return self.entities.get(context_key) or self.event_types.get(event_type)

    def is_empty(self) -> bool:
        """True when nothing is mapped."""
        return not self.entities and not self.event_types


def parse_widget_mapping(raw: str) -> WidgetMapping:
    """Inline JSON (starts with `{`) or a path to a JSON file; ValueError says what is wrong."""
    text = raw.strip()
    source = "inline JSON"
    if not text.startswith("{"):
        path = Path(text)
        source = f"file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(
                f"not inline JSON (does not start with '{{') and {source} cannot be read: "
                f"{exc.strerror}"
            ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{source} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    try:
        return WidgetMapping.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'top level'}: "
            f"{'unknown field' if err['type'] == 'extra_forbidden' else err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(f"{source}: {details}") from None
