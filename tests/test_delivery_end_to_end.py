"""Outbox → dispatcher → real sinks → loopback emulator, under injected faults: exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
import pytest

from ops_evidence.cli.drain import drain
from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import STRICT_PROFILES, BurstConfig, FaultConfig
from tests.delivery_support import delivery_env, emulator_config, fill_outbox, stored_keys
from tests.servers import serve_asgi

FAULTS = {
    "500": FaultConfig(seed=1, error_rates={500: 0.3}),
    "503": FaultConfig(seed=2, error_rates={503: 0.5}),
    "429": FaultConfig(seed=3, burst_429=BurstConfig(rate=0.2, length=3, retry_after=0)),
    "reset-before-commit": FaultConfig(seed=4, reset_before_commit=0.3),
    "reset-after-commit": FaultConfig(seed=5, reset_after_commit=0.3),
    "mixed": FaultConfig(seed=6, error_rates={503: 0.2, 502: 0.1}, reset_before_commit=0.1,
                         reset_after_commit=0.1, burst_429=BurstConfig(rate=0.05, retry_after=0)),
}  # fmt: skip


# Every fault against the friendly and the minimal hub; the mixed faults against every profile.
CASES = [(f, p) for f in FAULTS for p in ("friendly", "minimal")] + [
    ("mixed", p) for p in STRICT_PROFILES if p != "minimal"
]


@pytest.mark.parametrize(("fault", "profile"), CASES)
def test_every_event_lands_exactly_once(
    fault: str, profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With each fault injected, every enqueued event ends stored once at Inter-Hub."""
    with serve_asgi(create_app(emulator_config(FAULTS[fault], profile=profile))) as url:
        env = delivery_env(url, tmp_path)
        keys = fill_outbox(tmp_path, 60, env)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        assert drain(settings, 60, RetryPolicy(base=0.01, cap=0.05)) == 0
        assert sorted(stored_keys(url)) == sorted(keys)
        assert httpx.get(f"{url}/_emulator/duplicates").json() == {}
        injected = httpx.get(f"{url}/_emulator/counts").json()
    assert sum(injected["faults"].values()) > 0, "the fault was never injected"


# Longer than one lease (60 s): a claimed row that the dispatcher drops unattempted (held past
# half its lease, or re-claimed while its attempt was being recorded) is due again only when
# its lease ends. Once, in a CI run under load, the undeclared-type drain below did not finish
# in 60 s (exit 69); it did not recur in 60 reruns here. These tests check where each event
# ends up; the stall is a latency question, left open (stop 20's closing note).
DRAIN_DEADLINE = 150


def test_undeclared_type_falls_back_to_state_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest without the event type: Inter-Hub rows deferred, State Hub gets each event once."""
    with serve_asgi(create_app(emulator_config(declare_endpoint=False))) as url:
        env = delivery_env(url, tmp_path)
        keys = fill_outbox(tmp_path, 10, env)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert drain(load_settings(), DRAIN_DEADLINE, RetryPolicy(base=0.01, cap=0.05)) == 0
        progress = httpx.get(
            f"{url}/progress/", params={"event_type": "ops_inventory_probe", "limit": 1000}
        ).json()
        assert sorted(p["idempotency_key"] for p in progress) == sorted(keys)
        assert {p["detail"]["inter_hub_status"] for p in progress} == {"inter_hub_sink_deferred"}
        assert stored_keys(url) == []


def test_revoked_key_falls_back_and_keeps_retrying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key the hub refuses (401): State Hub gets the evidence; Inter-Hub rows stay retrying."""
    with serve_asgi(create_app(emulator_config())) as url:
        env = delivery_env(url, tmp_path) | {"OPS_HUB_KEY": "not-the-right-key-123"}
        keys = fill_outbox(tmp_path, 5, env)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert drain(load_settings(), DRAIN_DEADLINE, RetryPolicy(base=0.01, cap=0.05)) == 0
        progress = httpx.get(f"{url}/progress/", params={"limit": 1000}).json()
        assert sorted(p["idempotency_key"] for p in progress) == sorted(keys)

    async def statuses() -> set[str]:
        from ops_evidence.delivery.outbox import SqliteOutbox

        box = SqliteOutbox(tmp_path / "outbox.sqlite3")
        await box.open()
        rows = await box.deliveries(sink="inter-hub")
        await box.close()
        return {r.status for r in rows}

    assert anyio.run(statuses) == {"retrying"}
    assert os.environ["OPS_HUB_KEY"] not in (tmp_path / "outbox.sqlite3").read_bytes().decode(
        "utf-8", "replace"
    )
