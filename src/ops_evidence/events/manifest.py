"""The ops-hub manifest vocabulary as one document, built from the code's own sources.

`vocabulary` names the hub, policy scope, annotation category and widget types; the event
registry and `events.schemas` give each event type and its JSON Schema. Nothing here is
typed twice, so `ops-evidence manifest` cannot drift from what the service emits.

The key names (camelCase, like Inter-Hub's `/api/v2` bodies) are an assumption about the
ops-hub manifest format; the content is what the seed asks the manifest to declare.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml

from ops_evidence.events.registry import event_types
from ops_evidence.events.schemas import event_schema
from ops_evidence.events.vocabulary import (
    ANNOTATION_CATEGORY,
    HUB_NAME,
    POLICY_SCOPE,
    VSM_FUNCTION,
    VSM_SYSTEM,
    WIDGET_TYPES,
    widget_type_for,
)

ManifestFormat = Literal["json", "yaml"]
FORMATS: tuple[ManifestFormat, ...] = ("json", "yaml")


def build_manifest() -> dict[str, Any]:
    """The manifest: hub, VSM placement, policy scopes, annotation categories, widget and
    event types (each event type with the widget type that shows it and its JSON Schema)."""
    return {
        "hub": HUB_NAME,
        "vsmFunction": VSM_FUNCTION,
        "vsmSystem": VSM_SYSTEM,
        "policyScopes": [POLICY_SCOPE],
        "annotationCategories": [ANNOTATION_CATEGORY],
        "widgetTypes": list(WIDGET_TYPES),
        "eventTypes": [
            {
                "name": event_type,
                "widgetType": widget_type_for(event_type),
                "schema": event_schema(event_type),
            }
            for event_type in event_types()
        ],
    }


def render_manifest(fmt: ManifestFormat = "json") -> str:
    """The manifest as text: indented JSON, or block-style YAML; ends with a newline."""
    manifest = build_manifest()
    if fmt == "yaml":
        # sort_keys=False keeps the reading order above (hub first, schemas last).
        return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    return json.dumps(manifest, indent=2) + "\n"
