"""The README's configuration table, generated from the Settings model (a test keeps it equal)."""

from __future__ import annotations

from datetime import timedelta

from ops_evidence.config.durations import format_duration
from ops_evidence.config.settings import Settings

BEGIN = "<!-- configuration-table:begin (generated: python -m ops_evidence.config.settings_doc) -->"
END = "<!-- configuration-table:end -->"


def _shown(default: object) -> str:
    if default is None:
        return "(unset)"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, timedelta):
        return f"`{format_duration(default)}`"
    return f"`{default}`"


def configuration_table() -> str:
    """Markdown table: variable, default, description, between the README markers."""
    rows = [BEGIN, "| variable | default | description |", "|---|---|---|"]
    for field in Settings.model_fields.values():
        default = field.get_default(call_default_factory=True)
        rows.append(f"| `{field.validation_alias}` | {_shown(default)} | {field.description} |")
    rows.append(END)
    return "\n".join(rows)


if __name__ == "__main__":
    print(configuration_table())
