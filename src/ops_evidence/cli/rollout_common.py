"""Shared by the rollout subcommands: settings, an Inter-Hub client, and running it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ops_evidence.logging import configure_logging
from ops_evidence.rollout.inter_hub_client import InterHubClient
from ops_evidence.settings import Settings, load_settings
from ops_evidence.sinks.http import make_client

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
