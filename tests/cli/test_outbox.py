"""`ops-evidence outbox stats | list | export | replay` on a real outbox file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import pytest

from ops_evidence.config.settings import load_settings
from ops_evidence.delivery.outbox import NewDelivery, Result, SqliteOutbox, StoredEvent
from ops_evidence.delivery.router import Router
from tests.factories import endpoint_event
from tests.support import run_cli


def _fill(state_dir: Path, n: int) -> list[str]:
    """n events planned without Inter-Hub config: inter-hub rows + State Hub fallbacks."""

    async def fill() -> list[str]:
        box = SqliteOutbox(state_dir / "outbox.sqlite3")
        await box.open()
        router = Router(load_settings())
        keys = []
        for i in range(n):
            stored, deliveries = router.plan(endpoint_event(f"e{i}"))
            await box.enqueue(stored, deliveries)
            keys.append(stored.key)
        await box.close()
        return keys

    return anyio.run(fill)


def test_stats_and_list(tmp_path: Path) -> None:
    """stats counts per sink and status; list shows each delivery."""
    _fill(tmp_path, 3)
    env = {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
    stats = run_cli(["outbox", "stats", "--json"], env)
    assert stats.returncode == 0, stats.stderr
    counts = {(d["sink"], d["status"]): d["count"] for d in json.loads(stats.stdout)["deliveries"]}
    assert counts == {("inter-hub", "missing_inter_hub_config"): 3, ("state-hub", "pending"): 3}
    listing = run_cli(["outbox", "list", "--sink", "state-hub", "--json"], env)
    assert [r["status"] for r in json.loads(listing.stdout)] == ["pending"] * 3


def test_export_writes_json_lines(tmp_path: Path) -> None:
    """export writes one JSON line per delivery, with the stored event."""
    keys = _fill(tmp_path, 2)
    out = tmp_path / "export.jsonl"
    result = run_cli(
        ["outbox", "export", "--out", str(out)], {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 4
    assert {line["event"]["idempotency_key"] for line in lines} == set(keys)


def test_replay_after_inter_hub_is_configured(tmp_path: Path) -> None:
    """Rows parked as missing_inter_hub_config become pending with a body once configured."""
    _fill(tmp_path, 2)
    env = {
        "OPS_EVIDENCE_STATE_DIR": str(tmp_path),
        "INTER_HUB_URL": "https://hub.example.test",
        "OPS_HUB_KEY": "canary-replay-key-1",
        "OPS_HUB_WIDGET_MAPPING": '{"event_types": {"ops-endpoint-verified": "w-1"}}',
    }
    result = run_cli(["outbox", "replay", "--status", "missing_inter_hub_config"], env)
    assert result.returncode == 0, result.stderr
    assert "replayed 2 deliveries" in result.stdout
    rows = json.loads(run_cli(["outbox", "list", "--sink", "inter-hub", "--json"], env).stdout)
    assert [r["status"] for r in rows] == ["pending", "pending"]
    assert all(r["widget_id"] == "w-1" for r in rows)


@pytest.mark.parametrize("action", ["stats", "list", "export"])
def test_missing_outbox_is_a_usage_error(tmp_path: Path, action: str) -> None:
    """Pointing at a directory without an outbox says so (exit 64), no traceback."""
    result = run_cli(["outbox", action], {"OPS_EVIDENCE_STATE_DIR": str(tmp_path / "nope")})
    assert result.returncode == 64
    assert "no outbox at" in result.stderr
    assert "Traceback" not in result.stderr


def test_stats_counts_the_backlog_by_status(tmp_path: Path) -> None:
    """stats shows pending, retrying and deferred rows apart (text and JSON), and its oldest
    pending age leaves the deferred rows out."""

    async def fill() -> None:
        box = SqliteOutbox(tmp_path / "outbox.sqlite3")
        await box.open()
        now = time.time()
        deferred = NewDelivery(
            "inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=now + 3600
        )
        await box.enqueue(StoredEvent("k1", "t", "c", now - 86_400, b"{}"), [deferred])
        for key in ("k2", "k3"):
            await box.enqueue(
                StoredEvent(key, "t", "c", now - 60, b"{}"), [NewDelivery("state-hub", b"")]
            )
        [row, _] = await box.claim("state-hub", now=now, limit=2, lease_seconds=1)
        await box.record([Result(row.key, "state-hub", "retrying", now + 60)], now=now)
        await box.close()

    anyio.run(fill)
    env = {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
    stats = json.loads(run_cli(["outbox", "stats", "--json"], env).stdout)
    assert stats["backlog"] == {
        "inter-hub": {"pending": 0, "retrying": 0, "inter_hub_sink_deferred": 1},
        "state-hub": {"pending": 1, "retrying": 1, "inter_hub_sink_deferred": 0},
    }
    assert 60 <= stats["oldest_pending_age_seconds"] < 3600
    text = run_cli(["outbox", "stats"], env).stdout
    assert "backlog state-hub: pending 1, retrying 1, inter_hub_sink_deferred 0" in text
    assert "backlog inter-hub: pending 0, retrying 0, inter_hub_sink_deferred 1" in text
