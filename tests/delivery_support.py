"""Shared set-up for delivery tests against a real loopback emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.outbox import SqliteOutbox
from ops_evidence.delivery.router import Router
from ops_evidence.emulator import EmulatorConfig
from ops_evidence.emulator.config import ConsumerConfig, FaultConfig, ManifestConfig
from tests.factories import endpoint_event

KEY = "delivery-test-key-7c1d"
WIDGET = "widget-ops-endpoint-verified"
MAPPING = json.dumps({"event_types": {"ops-endpoint-verified": WIDGET}})


def emulator_config(
    faults: FaultConfig | None = None, *, declare_endpoint: bool = True, profile: str = "minimal"
) -> EmulatorConfig:
    """The ops-hub emulator with our key, its lists as `profile` says (by default only what
    the seeds state: delivery must not lean on the friendly extensions); optionally without
    ops-endpoint-verified."""
    manifest = ManifestConfig()
    if not declare_endpoint:
        manifest = ManifestConfig(
            event_types=tuple(t for t in manifest.event_types if t != "ops-endpoint-verified")
        )
    return EmulatorConfig(
        consumers=(ConsumerConfig(name="ops-evidence", key=SecretStr(KEY)),),
        manifest=manifest,
        faults=faults or FaultConfig(),
        profile=profile,
    )


def delivery_env(base_url: str, state_dir: Path) -> dict[str, str]:
    """Environment of an ops-evidence process delivering to the emulator at `base_url`."""
    return {
        "INTER_HUB_URL": base_url,
        "OPS_HUB_KEY": KEY,
        "OPS_HUB_WIDGET_MAPPING": MAPPING,
        "STATE_HUB_URL": base_url,
        "OPS_EVIDENCE_STATE_DIR": str(state_dir),
        "OPS_EVIDENCE_RETRY_BASE": "20ms",
        "OPS_EVIDENCE_RETRY_CAP": "200ms",
        "OPS_EVIDENCE_HTTP_TIMEOUT": "5s",
        "OPS_EVIDENCE_LOG_FORMAT": "json",
        "OPS_EVIDENCE_LOG_LEVEL": "warning",
    }


def fill_outbox(
    state_dir: Path, count: int, env: dict[str, str], concurrency: int = 64, prefix: str = "e"
) -> list[str]:
    """Enqueue `count` endpoint events as the service would route them; returns their keys.

    `prefix` names the batch, so a second fill adds new events rather than repeats.
    """
    import os

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        router = Router(load_settings())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    planned = [router.plan(endpoint_event(f"{prefix}{n}")) for n in range(count)]

    async def fill() -> None:
        box = SqliteOutbox(state_dir / "outbox.sqlite3", max_rows=max(100_000, count))
        await box.open()
        limiter = anyio.Semaphore(concurrency)

        async def one(item: Any) -> None:
            async with limiter:
                await box.enqueue(*item)

        async with anyio.create_task_group() as tg:
            for item in planned:
                tg.start_soon(one, item)
        await box.close()

    anyio.run(fill)
    return [stored.key for stored, _ in planned]


def stored_keys(base_url: str) -> list[str]:
    """Every idempotency key stored by the emulator, one entry per stored copy."""
    keys: list[str] = []
    page = 1
    while True:
        body = httpx.get(
            f"{base_url}/_emulator/events", params={"page": page, "pageSize": 10_000}
        ).json()
        items = body["data"] if isinstance(body, dict) else body
        keys.extend(
            str(item.get("idempotencyKey") or item["metadata"]["idempotencyKey"]) for item in items
        )
        if len(items) < 10_000:
            return keys
        page += 1
