"""`ops-evidence emulate`: serve the Inter-Hub and State Hub emulator on loopback.

Both APIs share one base URL (Inter-Hub under `/api/v2`, State Hub at `/progress/` and
`/state/health`), so INTER_HUB_URL and STATE_HUB_URL are both `http://HOST:PORT`. A consumer
configured without a key gets a random one, written to `KEY_DIR/<consumer>.key` (0600); the
path is printed, never the key.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from ops_evidence.emulator import EmulatorConfig, create_app, emulator_state, load_config
from ops_evidence.emulator.config import PROFILES
from ops_evidence.errors import UsageError
from ops_evidence.http.listener import bind
from ops_evidence.logging import configure_logging, get_logger


def register(sub: Any) -> None:
    """Add the `emulate` subcommand."""
    parser = sub.add_parser("emulate", help="run the Inter-Hub and State Hub emulator")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one")
    parser.add_argument("--config", type=Path, metavar="FILE", help="emulator YAML/JSON config")
    parser.add_argument("--seed", type=int, help="fault-injection seed (overrides the config)")
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="list behaviour: 'minimal' is only what the seeds state (pages of 20 by "
        "page/limit, newest first, no key filter); the others vary one thing each; "
        "'friendly' (the default) adds the key filter and oldest-first order",
    )
    parser.add_argument(
        "--storage",
        type=Path,
        metavar="FILE",
        help="SQLite file to keep records across restarts (default: memory)",
    )
    parser.add_argument(
        "--key-dir",
        type=Path,
        metavar="DIR",
        help="where generated keys are written (default: a new private temp dir)",
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address (admin routes are open)",
    )
    parser.set_defaults(handler=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The config from `--config` (or the default), with command-line overrides applied."""
    config = load_config(args.config) if args.config else EmulatorConfig()
    if args.seed is not None:
        config = config.model_copy(
            update={"faults": config.faults.model_copy(update={"seed": args.seed})}
        )
    if args.storage is not None:
        config = config.model_copy(update={"storage": args.storage})
    if args.profile is not None:
        config = config.model_copy(update={"profile": args.profile, "listing": None})
    key_dir: Path | None = args.key_dir
    consumers = []
    for consumer in config.consumers:
        if consumer.key is None and not consumer.key_env and consumer.key_file is None:
            key_dir = key_dir or Path(tempfile.mkdtemp(prefix="ops-evidence-emulator-"))
            consumer = consumer.model_copy(update={"key_file": key_dir / f"{consumer.name}.key"})  # noqa: PLW2901 - rebinding the copy is the point
        consumers.append(consumer)
    return config.model_copy(update={"consumers": tuple(consumers)})


class _Server(uvicorn.Server):
    """uvicorn.Server that prints where it listens once bound (port 0 included)."""

    def __init__(self, config: uvicorn.Config, key_files: list[str]) -> None:
        super().__init__(config)
        self._key_files = key_files

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        print(f"emulator listening on {url}", flush=True)
        print(f"  INTER_HUB_URL={url}  STATE_HUB_URL={url}", flush=True)
        for line in self._key_files:
            print(f"  {line}", flush=True)
        get_logger(component="emulator").info("emulator_listening", url=url)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    if not _is_loopback(args.host) and not args.allow_non_loopback:
        raise UsageError(
            f"--host {args.host} is not a loopback address; "
            "pass --allow-non-loopback to expose the emulator"
        )
    configure_logging(
        os.environ.get("OPS_EVIDENCE_LOG_LEVEL", "info"),
        os.environ.get("OPS_EVIDENCE_LOG_FORMAT", "auto"),
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    sock = bind(f"{host}:{args.port}", what="--host/--port")  # a port in use: one line, 69
    config = build_config(args)
    app = create_app(config, log_requests=True)
    lists = config.lists
    order = "newest" if lists.newest_first else "oldest"
    key_filter = "on" if lists.key_filter else "off"
    summary = f"lists: profile {config.profile}, {lists.style}, pages of {lists.default_size}"
    key_files = [f"{summary}, {order} first, key filter {key_filter}"]
    key_files += [
        f"consumer {c.name}: key in {c.key_file}"
        for c in config.consumers
        if c.key_file is not None
    ]
    server_config = uvicorn.Config(
        app, host=args.host, port=args.port, lifespan="off", access_log=False, log_config=None
    )
    try:
        _Server(server_config, key_files).run(sockets=[sock])
    finally:
        emulator_state(app).store.close()
    return 0
