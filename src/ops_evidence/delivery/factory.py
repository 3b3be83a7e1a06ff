"""Build the delivery parts from settings: outbox, sinks, router, dispatcher."""

from __future__ import annotations

from pathlib import Path

import httpx

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.outbox.sqlite import SqliteOutbox
from ops_evidence.delivery.sinks.base import Sink
from ops_evidence.delivery.sinks.inter_hub import InterHubSink
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.delivery.sinks.state_hub import StateHubSink
from ops_evidence.delivery.sinks.stdout import StdoutSink

OUTBOX_FILE = "outbox.sqlite3"


def outbox_path(settings: Settings) -> Path:
    """Where the outbox lives inside OPS_EVIDENCE_STATE_DIR."""
    return settings.state_dir / OUTBOX_FILE


def open_outbox(settings: Settings) -> SqliteOutbox:
    """The SQLite outbox configured by the settings (not yet opened)."""
    return SqliteOutbox(outbox_path(settings), max_rows=settings.outbox_max_rows)


def build_sinks(settings: Settings, client: httpx.AsyncClient) -> dict[str, Sink]:
    """Every sink the settings make possible; Inter-Hub only with URL and key.

    Raises ConfigError when the key would travel over plain http to a remote host.
    """
    sinks: dict[str, Sink] = {
        "state-hub": StateHubSink(client, str(settings.state_hub_url)),
        "stdout": StdoutSink(),
    }
    if settings.inter_hub_url is not None and settings.ops_hub_key is not None:
        sinks["inter-hub"] = InterHubSink(InterHubClient.from_settings(settings, client))
    return sinks
