"""`ops-evidence run` as a real process against the loopback emulator and local targets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops_evidence.demo.targets import INVENTORY, targets_app
from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import FaultConfig
from tests.delivery_support import KEY, emulator_config, stored_keys
from tests.real_servers import free_port
from tests.servers import serve_asgi
from tests.support import REPO, run_cli

MAPPING = json.dumps(
    {
        "event_types": {
            t: f"widget-{t}"
            for t in (
                "ops-service-observed",
                "ops-endpoint-verified",
                "ops-access-path-checked",
                "ops-backup-verified",
                "ops-inventory-drift",
            )
        }
    }
)


@contextmanager
def world(
    tmp_path: Path, faults: FaultConfig | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """Emulator + demo targets on loopback, an inventory, and the env to run against them."""
    with ExitStack() as stack:
        hub = stack.enter_context(serve_asgi(create_app(emulator_config(faults))))
        targets = stack.enter_context(serve_asgi(targets_app()))
        backups = tmp_path / "backups"
        backups.mkdir()
        (backups / "db.sql.gz").write_bytes(b"x" * 100)
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            INVENTORY.format(
                targets=targets, targets_port=targets.rsplit(":", 1)[1], backups=backups
            )
        )
        env = {
            "INTER_HUB_URL": hub,
            "STATE_HUB_URL": hub,
            "OPS_HUB_KEY": KEY,
            "OPS_HUB_WIDGET_MAPPING": MAPPING,
            "OPS_EVIDENCE_INVENTORY": str(inventory),
            "OPS_EVIDENCE_STATE_DIR": str(tmp_path / "state"),
            "OPS_EVIDENCE_LISTEN": f"127.0.0.1:{free_port()}",
            "OPS_EVIDENCE_LOG_FORMAT": "json",
            "OPS_EVIDENCE_RETRY_BASE": "50ms",
            "OPS_EVIDENCE_RETRY_CAP": "200ms",
        }
        yield hub, env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB"))}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ops_evidence", "run", "--grace", "5"],
            env={**base, **env},
            cwd=REPO,
            stdout=out,
            stderr=out,
        )


def _poll(check: object, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a real process's HTTP endpoint, with a deadline
    raise AssertionError(f"{what} within {deadline}s")


def _ready(listen: str) -> bool:
    return httpx.get(f"http://{listen}/readyz", timeout=1).status_code == 200


def test_a_repeated_ctrl_c_does_not_break_the_shutdown(tmp_path: Path) -> None:
    """Two SIGINTs in a row (Ctrl-C under `uv run` reaches the service twice): still a clean
    shutdown, exit 0, no traceback."""
    with world(tmp_path) as (_, env):
        listen, log = env["OPS_EVIDENCE_LISTEN"], tmp_path / "run.log"
        proc = _start(env, log)
        _poll(lambda: _ready(listen), "the service became ready")
        proc.send_signal(signal.SIGINT)
        # The repeat lands once the first is being handled, as uv's forwarded one does.
        _poll(lambda: "shutdown_requested" in log.read_text(), "the first SIGINT was taken")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    text = log.read_text()
    assert "service_stopped" in text
    assert "Traceback" not in text


@pytest.mark.slow
def test_run_delivers_stops_on_sigterm_and_resumes(tmp_path: Path) -> None:
    """Ready, delivers all five types, exits 0 on SIGTERM; a restart resumes pending work."""
    outage = FaultConfig(error_rates={503: 1.0})  # Inter-Hub down at first
    with world(tmp_path, outage) as (hub, env):
        listen, log = env["OPS_EVIDENCE_LISTEN"], tmp_path / "run.log"
        proc = _start(env, log)
        _poll(lambda: _ready(listen), "the service became ready")
        _poll(lambda: httpx.get(f"{hub}/_emulator/counts").json()["faults"], "a 503 was seen")
        page = httpx.get(f"http://{listen}/").text
        for key in (
            "service:demo-gitea",
            "endpoint:demo-registry",
            "backup:demo-db-dumps",
            "access-path:demo-registry-tcp",
            "environment:demo-local",
        ):
            assert key in page
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 20
        assert stored_keys(hub) == []  # nothing landed during the outage
        httpx.put(f"{hub}/_emulator/faults", json={}).raise_for_status()  # hub is back
        proc = _start(env, log)
        _poll(lambda: len(set(stored_keys(hub))) >= 4, "pending events were delivered")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert httpx.get(f"{hub}/_emulator/duplicates").json() == {}
    assert KEY not in log.read_text()


def test_beside_a_running_service_drain_refuses_and_the_rest_works(tmp_path: Path) -> None:
    """While `run` owns the outbox, `outbox drain` exits 75 with one line; stats, list,
    export and replay keep working beside it; once it has stopped, drain works."""
    with world(tmp_path) as (_, env):
        listen, log = env["OPS_EVIDENCE_LISTEN"], tmp_path / "run.log"
        proc = _start(env, log)
        try:
            _poll(lambda: _ready(listen), "the service became ready")
            refused = run_cli(["outbox", "drain", "--timeout", "5"], env)
            for action in (["stats"], ["list"], ["export"], ["replay", "--status", "dead"]):
                assert run_cli(["outbox", *action], env).returncode == 0, action
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        assert refused.returncode == 75, refused.stderr
        assert "another ops-evidence process" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert run_cli(["outbox", "drain", "--timeout", "30"], env).returncode == 0


def test_readyz_metrics_and_status_page(tmp_path: Path) -> None:
    """/readyz answers 200 once ready; /metrics parses as Prometheus text."""
    with world(tmp_path) as (_, env):
        listen = env["OPS_EVIDENCE_LISTEN"]
        proc = _start(env, tmp_path / "run.log")
        try:
            _poll(lambda: _ready(listen), "ready")
            _poll(
                lambda: (
                    "ops_evidence_probe_runs_total" in httpx.get(f"http://{listen}/metrics").text
                ),
                "a probe ran",
            )
            text = httpx.get(f"http://{listen}/metrics").text
            names = {f.name for f in text_string_to_metric_families(text)}
            assert {"ops_evidence_probe_runs", "ops_evidence_outbox_events"} <= names
            assert httpx.get(f"http://{listen}/healthz").json() == {"status": "ok"}
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0


def test_run_once_summary_and_exit_code(tmp_path: Path) -> None:
    """--once prints one row per probe; drift reports a change, so the exit code is 1."""
    with world(tmp_path) as (hub, env):
        result = run_cli(["run", "--once"], env, timeout=120)
        assert result.returncode == 1, result.stderr
        assert "endpoint:demo-registry" in result.stdout
        assert "inter-hub:delivered" in result.stdout
        assert "version_drift" in result.stdout or "failed" in result.stdout
        assert len(set(stored_keys(hub))) == 5


def test_dry_run_prints_json_lines(tmp_path: Path) -> None:
    """--dry-run --once prints each event as a JSON line and delivers nothing."""
    with world(tmp_path) as (hub, env):
        result = run_cli(["run", "--once", "--dry-run"], env, timeout=120)
        # stdout carries only the events (logs go to stderr), one JSON object per line.
        events = [json.loads(line) for line in result.stdout.splitlines()]
        assert all("idempotency_key" in e for e in events)
        assert {e["event_type"] for e in events} >= {"ops-endpoint-verified", "ops-backup-verified"}
        assert stored_keys(hub) == []
        assert not (tmp_path / "state" / "outbox.sqlite3").exists()


def test_a_listen_port_in_use_is_one_line_and_69(tmp_path: Path) -> None:
    """Another process holds OPS_EVIDENCE_LISTEN: exit 69 before anything starts, one line
    naming the variable and the address, no traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        listen = f"127.0.0.1:{holder.getsockname()[1]}"
        result = run_cli(
            ["run", "--inventory", "examples/railiance.yaml"],
            {"OPS_EVIDENCE_LISTEN": listen, "OPS_EVIDENCE_STATE_DIR": str(tmp_path)},
        )
    assert result.returncode == 69, result.stderr
    assert f"OPS_EVIDENCE_LISTEN: cannot listen on {listen}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "service_ready" not in result.stderr
