"""Shared by the rollout subcommands: settings, an Inter-Hub client, and running it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio

from ops_evidence.config.settings import Settings, load_settings
from ops_evidence.delivery.sinks.http import make_client
from ops_evidence.delivery.sinks.inter_hub_client import InterHubClient
from ops_evidence.logging import configure_logging
from ops_evidence.probes.readiness.rollout_outcomes import (
    RolloutCommand,
    RolloutOutcome,
    record_outcome,
)

T = TypeVar("T")


def rollout_settings() -> Settings:
    """Settings from the environment (78 on a bad variable), with logging set up."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def with_hub(settings: Settings, work: Callable[[InterHubClient], Awaitable[T]]) -> T:
    """Run `work` with an Inter-Hub client on a fresh HTTP client; 78 if unconfigured."""

    async def main() -> T:
        async with make_client(settings.http_timeout.total_seconds()) as client:
            return await work(InterHubClient.from_settings(settings, client))

    return anyio.run(main)


def add_record_argument(parser: Any) -> None:
    """`--record`: keep the verdict in the state directory for readiness gate OPS-G15."""
    parser.add_argument(
        "--record",
        action="store_true",
        help="record the verdict in $OPS_EVIDENCE_STATE_DIR/rollout/ (evidence for OPS-G15)",
    )


def record_if_asked(
    args: argparse.Namespace, settings: Settings, command: RolloutCommand, ok: bool, detail: str
) -> None:
    """With `--record`, write the verdict where the gate evaluation reads it (path on stderr,
    so `--json` output stays clean)."""
    if not getattr(args, "record", False):
        return
    outcome = RolloutOutcome(command=command, ok=ok, at=datetime.now(UTC), detail=detail[:200])
    path = record_outcome(settings.state_dir, outcome)
    sys.stderr.write(f"recorded {command} {'pass' if ok else 'failure'} in {path}\n")
