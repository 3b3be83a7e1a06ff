"""`ops-evidence outbox drain`: deliver everything due, then exit (recovery and tests).

Only while the service is stopped: it releases every lease when it opens the outbox, so it
refuses with one line and exit 75 while `run` owns the outbox (delivery/outbox/lock.py).
"""

from __future__ import annotations

import anyio

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.dispatcher import Dispatcher
from ops_evidence.delivery.factory import build_sinks, open_outbox
from ops_evidence.delivery.outbox.lock import owning
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.http import make_client
from ops_evidence.errors import EX_UNAVAILABLE
from ops_evidence.logging import get_logger

log = get_logger(component="drain")


def drain(settings: Settings, timeout: float, policy: RetryPolicy | None = None) -> int:
    """Deliver until nothing is due within a minute; 69 if `timeout` seconds pass first; 75
    (OutboxBusyError, before anything is opened) while a running service owns the outbox.

    Deliveries scheduled further out (deferred types, slow auth retries) are left to `run`.
    """
    return anyio.run(_drain, settings, timeout, policy or RetryPolicy.from_settings(settings))


async def _drain(settings: Settings, deadline_s: float, policy: RetryPolicy) -> int:
    # Refuses (exit 75) beside a running service: opening releases every lease.
    with owning(settings.state_dir, "outbox drain"):
        return await _drain_owned(settings, deadline_s, policy)


async def _drain_owned(settings: Settings, deadline_s: float, policy: RetryPolicy) -> int:
    outbox = open_outbox(settings)
    await outbox.open()
    try:
        async with make_client(settings.http_timeout.total_seconds()) as client:
            sinks = build_sinks(settings, client)
            router = Router(settings, policy)
            dispatcher = Dispatcher(outbox, router.outcomes, sinks, lease=policy.lease)
            with anyio.move_on_after(deadline_s) as scope:
                await dispatcher.run(until_idle=True)
        stats = await outbox.stats()
    finally:
        await outbox.close()
    counts = {f"{sink}:{status}": n for (sink, status), n in sorted(stats.by_sink_status.items())}
    if scope.cancelled_caught:
        log.warning("drain_timeout", timeout=deadline_s, **counts)
        return EX_UNAVAILABLE
    log.info("drain_finished", **counts)
    return 0
