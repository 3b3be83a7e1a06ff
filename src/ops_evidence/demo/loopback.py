"""`ops-evidence demo`: the whole product on loopback, with no configuration and no network.

Starts the Inter-Hub/State Hub emulator and the local targets of `targets.py` (a registry-like
endpoint answering 401 with the OCI header, a health endpoint with a version, a TCP port, a
backup folder), writes the demo inventory, and runs the real service against them. The demo
manifest leaves `ops-backup-verified` undeclared, so that type visibly falls back to State
Hub. The demo key is generated per run and never printed.
"""

from __future__ import annotations

import functools
import secrets
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from ops_evidence.config.settings import Settings
from ops_evidence.config.widget_mapping import WidgetMapping
from ops_evidence.demo.targets import INVENTORY, targets_app
from ops_evidence.emulator import EmulatorConfig, create_app
from ops_evidence.emulator.config import ConsumerConfig, ManifestConfig
from ops_evidence.events.vocabulary import EVENT_TYPES
from ops_evidence.http.embedded_asgi import EmbeddedServer, embedded_server
from ops_evidence.inventory import load_inventory
from ops_evidence.schedule.probe_jobs import build_jobs
from ops_evidence.service.lifecycle import Service

UNDECLARED = "ops-backup-verified"


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def demo_settings(workdir: Path, emulator_url: str, key: str, listen: str) -> Settings:
    """Settings pointing the service at the demo emulator with aggregate widgets."""
    mapping = WidgetMapping.model_validate({"event_types": {t: f"widget-{t}" for t in EVENT_TYPES}})
    return Settings(
        inter_hub_url=emulator_url,
        ops_hub_key=SecretStr(key),
        widget_mapping=mapping,
        state_hub_url=emulator_url,
        inventory=workdir / "inventory.yaml",
        state_dir=workdir / "state",
        listen=listen,
        log_format="console",
    )


async def run_demo(
    listen: str, duration: float | None, workdir: Path, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run everything until Ctrl-C (or `duration`); returns the emulator's counts."""
    key = secrets.token_urlsafe(24)
    manifest = ManifestConfig(event_types=tuple(t for t in EVENT_TYPES if t != UNDECLARED))
    hub = create_app(
        EmulatorConfig(
            consumers=(ConsumerConfig(name="ops-evidence", key=SecretStr(key)),),
            manifest=manifest,
        )
    )
    hub_sock, targets_sock = _socket(), _socket()
    backups = workdir / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    (backups / "demo-db.sql.gz").write_bytes(b"\x1f\x8b" + b"demo dump " * 10)
    (workdir / "inventory.yaml").write_text(
        INVENTORY.format(
            targets=_url(targets_sock),
            targets_port=targets_sock.getsockname()[1],
            backups=backups,
        )
    )
    settings = demo_settings(workdir, _url(hub_sock), key, listen)
    jobs = build_jobs(load_inventory(settings.inventory), state_dir=settings.state_dir)
    service = Service(settings, jobs, grace=5, initial_spread=2.0)
    servers: list[EmbeddedServer] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        for app, sock in ((hub, hub_sock), (targets_app(), targets_sock)):
            server = embedded_server(app, "127.0.0.1:0")
            servers.append(server)
            tg.start_soon(functools.partial(server.serve, sockets=[sock]))
        _banner(say, settings, _url(hub_sock), workdir)
        if duration is not None:
            tg.start_soon(_stop_after, duration, stop)
        await service.run(stop=stop)
        counts = await _counts(_url(hub_sock))
        for server in servers:
            server.should_exit = True
    _summary(say, counts)
    return counts


async def _stop_after(seconds: float, stop: anyio.Event) -> None:
    await anyio.sleep(seconds)
    stop.set()


async def _counts(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        counts: dict[str, Any] = (await client.get(f"{url}/_emulator/counts")).json()
        events = (await client.get(f"{url}/_emulator/events", params={"pageSize": 1000})).json()
        progress = (await client.get(f"{url}/_emulator/progress")).json()
    by_type: dict[str, int] = {}
    for item in events.get("data", []):
        by_type[item["eventType"]] = by_type.get(item["eventType"], 0) + 1
    counts["inter_hub_by_type"] = by_type
    items = progress if isinstance(progress, list) else progress.get("data", [])
    counts["state_hub_types"] = sorted({p["detail"]["event_type"] for p in items})
    return counts


def _banner(say: Callable[[str], None], settings: Settings, hub: str, workdir: Path) -> None:
    say("ops-evidence demo — everything on loopback, nothing leaves this machine")
    say(f"  status page    http://{settings.listen}/")
    say(f"  metrics        http://{settings.listen}/metrics")
    say(f"  Inter-Hub emu  {hub}/_emulator/events   (State Hub: {hub}/_emulator/progress)")
    say(f"  inventory      {settings.inventory}")
    say(f"  note           {UNDECLARED} is undeclared in the demo manifest: State Hub gets it")
    say("  Ctrl-C stops the demo cleanly.")
    del workdir


def _summary(say: Callable[[str], None], counts: dict[str, Any]) -> None:
    say("demo finished:")
    for event_type, n in sorted(counts["inter_hub_by_type"].items()):
        say(f"  Inter-Hub received {n} x {event_type}")
    for event_type in counts["state_hub_types"]:
        say(f"  State Hub fallback received {event_type}")


def demo_workdir(path: Path | None) -> tuple[Path, Any]:
    """The given directory, or a temporary one removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        return path, None
    tmp = tempfile.TemporaryDirectory(prefix="ops-evidence-demo-")
    return Path(tmp.name), tmp
