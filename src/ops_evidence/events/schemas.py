"""JSON Schemas of the event types, generated from the models into `event-types/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ops_evidence.events.registry import event_model, event_types

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type, with a stable `$id` and title."""
    schema = event_model(event_type).model_json_schema(mode="serialization")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://ops-hub.local/event-types/{event_type}.schema.json",
        **schema,
        "title": event_type,
    }


def render_schema(event_type: str) -> str:
    """The committed text of a schema file (stable formatting, trailing newline)."""
    return json.dumps(event_schema(event_type), indent=2, sort_keys=True) + "\n"


def schema_path(directory: Path, event_type: str) -> Path:
    """Where an event type's schema lives in `event-types/`."""
    return directory / f"{event_type}.schema.json"


def stale_schemas(directory: Path) -> list[str]:
    """Event types whose file is missing or differs from the model; also unexpected files."""
    problems = []
    expected = set()
    for event_type in event_types():
        path = schema_path(directory, event_type)
        expected.add(path.name)
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != render_schema(event_type):
            problems.append(f"{path}: differs from the model")
    if directory.exists():
        problems.extend(
            f"{extra}: no such event type"
            for extra in sorted(directory.glob("*.schema.json"))
            if extra.name not in expected
        )
    return problems


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in event_types():
        path = schema_path(directory, event_type)
        path.write_text(render_schema(event_type), encoding="utf-8")
        written.append(path)
    return written
