"""A loopback emulator whose only consumer's key is a canary, for the rollout CLI tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from ops_evidence.emulator import EmulatorConfig, create_app
from ops_evidence.emulator.config import ConsumerConfig
from ops_evidence.events.vocabulary import EVENT_TYPES
from tests.servers import serve_asgi

CANARY = "canary-ops-hub-key-rollout-91b3"
AGGREGATES = json.dumps({"event_types": {t: f"widget-{t}" for t in EVENT_TYPES}})


@contextmanager
def canary_hub(**config: Any) -> Iterator[str]:
    """Serve an emulator (CANARY is the key) on loopback; yields its base URL."""
    consumers = (ConsumerConfig(name="ops-evidence", key=SecretStr(CANARY)),)
    app = create_app(EmulatorConfig(consumers=consumers, **config))
    with serve_asgi(app) as base_url:
        yield base_url


def hub_env(base_url: str, mapping: str | None = AGGREGATES) -> dict[str, str]:
    """Environment pointing the CLI at the emulator with the canary key."""
    env = {"INTER_HUB_URL": base_url, "OPS_HUB_KEY": CANARY, "OPS_EVIDENCE_LOG_LEVEL": "warning"}
    if mapping is not None:
        env["OPS_HUB_WIDGET_MAPPING"] = mapping
    return env
