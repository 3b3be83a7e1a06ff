"""The service: wires outbox, router, sinks, dispatcher, scheduler and listener on ONE task group.

Start-up: open the outbox (releasing leases of a crashed predecessor), load the emission
state, start the listener, dispatcher and scheduler, then report ready. Shutdown (SIGTERM,
SIGINT): stop scheduling, let in-flight probes finish within `grace`, let the dispatcher
record in-flight outcomes within `grace`, stop the listener, close the outbox.
"""

from __future__ import annotations

import functools
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import httpx
from anyio.abc import TaskGroup

from ops_evidence.config.settings import Settings
from ops_evidence.delivery.backoff import RetryPolicy
from ops_evidence.delivery.dispatcher import Dispatcher
from ops_evidence.delivery.factory import build_sinks, open_outbox
from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.lock import owning, try_lock, unlock
from ops_evidence.delivery.outbox.memory import MemoryOutbox
from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.outbox.sqlite import SqliteOutbox
from ops_evidence.delivery.router import Router
from ops_evidence.delivery.sinks.base import Sink
from ops_evidence.delivery.sinks.http import make_client
from ops_evidence.delivery.sinks.stdout import StdoutSink
from ops_evidence.errors import OutboxFullError
from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.http.listener import Listener, bind
from ops_evidence.logging import get_logger
from ops_evidence.schedule.emission_state import MemoryProbeState, ProbeStateStore, SqliteProbeState
from ops_evidence.schedule.runner import Job, RunRecord, Scheduler
from ops_evidence.service.heap import freeze_startup_objects, release_free_memory
from ops_evidence.service.metrics import Metrics
from ops_evidence.service.web import ServiceView, routes

log = get_logger(component="service")
PRUNE_EVERY = 3600.0
# Often enough that a burst (start-up, a round of probes, a backlog) does not hold its
# high-water resident size for long; with start-up objects frozen, a collection and trim
# cost well under a millisecond (heap.py).
TRIM_EVERY = 60.0


@dataclass
class Service:
    """One running instance; `view` is what the listener shows."""

    settings: Settings
    jobs: Sequence[Job]
    dry_run: bool = False
    grace: float = 10.0
    initial_spread: float = 60.0
    metrics: Metrics = field(default_factory=Metrics)
    # The prune loop's time source (tests drive it through simulated months).
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.view = ServiceView(self.metrics, probes=[(j.key, j.event_type) for j in self.jobs])
        if self.dry_run:
            self.settings = self.settings.model_copy(update={"sink": "stdout"})
        self.outbox: Outbox = MemoryOutbox() if self.dry_run else open_outbox(self.settings)
        self.state: ProbeStateStore = (
            MemoryProbeState()
            if self.dry_run
            else SqliteProbeState(self.settings.state_dir / "probe-state.sqlite3")
        )
        self.router = Router(self.settings, RetryPolicy.from_settings(self.settings))

    def _parts(self, client: httpx.AsyncClient) -> tuple[Dispatcher, Scheduler]:
        sinks: dict[str, Sink] = (
            {"stdout": StdoutSink()} if self.dry_run else build_sinks(self.settings, client)
        )
        self.view.sinks = dict.fromkeys(sinks, "enabled")
        for reason in self.settings.inter_hub_missing():
            self.view.sinks.setdefault("inter-hub", f"off: {reason} not set")
        dispatcher = Dispatcher(
            self.outbox,
            self.router.outcomes,
            sinks,
            lease=self.router.policy.lease,
            observers=[self.metrics.observe_delivery],
        )
        scheduler = Scheduler(
            self.jobs,
            self._submit_to(dispatcher),
            self.state,
            observers=[self.metrics.observe_run],
            initial_spread=self.initial_spread,
        )
        self.view.results = scheduler.results
        return dispatcher, scheduler

    def _submit_to(self, dispatcher: Dispatcher) -> Callable[[EvidenceEvent, Job], Awaitable[bool]]:
        async def submit(event: EvidenceEvent, job: Job) -> bool:
            """Enqueue the event; False when the outbox refused it (counted and logged)."""
            stored, deliveries = self.router.plan(event, job.view_context)
            refused = None
            try:
                await self.outbox.enqueue(stored, deliveries)
            except OutboxFullError as exc:
                refused = exc.message
            if refused is not None:
                self.metrics.events_refused.labels("outbox_full").inc()
                log.error("event_refused", probe=job.key, reason="outbox_full", error=refused)
                return False
            self.metrics.events_enqueued.labels(event.event_type).inc()
            dispatcher.notify()
            return True

        return submit

    async def run(self, *, listen: bool = True, stop: anyio.Event | None = None) -> None:
        """Run until SIGTERM/SIGINT (or `stop`), then shut down in order within the bounds.

        Holds the owner's lock (delivery/outbox/lock.py) throughout: refuses (OutboxBusyError, 75)
        while another `run` or `outbox drain` owns the outbox, whose leases it would release.
        """
        if self.dry_run:
            await self._run(listen, stop)
            return
        with owning(self.settings.state_dir, "run"):
            await self._run(listen, stop)

    async def _run(self, listen: bool, stop: anyio.Event | None) -> None:
        await self.outbox.open()
        self.view.outbox = self.outbox
        sock = None
        try:
            sock = bind(self.settings.listen) if listen else None
            async with make_client(self.settings.http_timeout.total_seconds()) as client:
                dispatcher, scheduler = self._parts(client)
                await scheduler.load_state()
                freeze_startup_objects()  # the per-minute collection then skips them
                await self._serve(dispatcher, scheduler, sock, stop)
        finally:
            if sock is not None:
                sock.close()  # the listener closed it already, unless start-up failed first
            await self.state.close()
            await self.outbox.close()
            log.info("service_stopped")

    async def _serve(
        self,
        dispatcher: Dispatcher,
        scheduler: Scheduler,
        sock: socket.socket | None,
        stop: anyio.Event | None,
    ) -> None:
        """Start the listener, dispatcher, housekeeping and scheduler; report ready; on the
        signal, stop them in order, each within `grace`."""
        async with anyio.create_task_group() as tg:
            listener_stop = anyio.Event()
            server_done = None
            if sock is not None:
                serve = Listener(routes(self.view)).serve
                server_done = _start(tg, functools.partial(serve, sock, listener_stop))
            dispatcher_done = _start(tg, dispatcher.run)
            tg.start_soon(self._prune_forever)
            tg.start_soon(_trim_forever)
            scheduler_scope = anyio.CancelScope()
            scheduler_done = _start(tg, _scoped(scheduler_scope, scheduler.run))
            self.view.ready = True
            log.info(
                "service_ready",
                probes=len(self.jobs),
                sinks=list(self.view.sinks),
                listen=self.settings.listen if sock is not None else None,
            )
            await _wait_for_signal(stop)
            self.view.ready = False
            scheduler.stop()
            await _within(self.grace, scheduler_done)
            scheduler_scope.cancel()  # probes still running past the bound are dropped
            dispatcher.stop()
            # Attempts still in flight past the bound keep their lease and are
            # read back and retried by the next process.
            await _within(self.grace, dispatcher_done)
            listener_stop.set()
            if server_done is not None:
                await _within(self.grace, server_done)
            tg.cancel_scope.cancel()

    async def prune(self) -> int:
        """Delete the finished events older than the retention (by `clock`); how many."""
        retention = self.settings.outbox_retention.total_seconds()
        removed = await self.outbox.prune(self.clock() - retention)
        if removed:
            log.info("outbox_pruned", removed=removed, retention_seconds=retention)
        return removed

    async def _prune_forever(self) -> None:
        """Prune hourly (cancelled at shutdown)."""
        while True:
            await self.prune()
            await anyio.sleep(PRUNE_EVERY)

    async def run_once(self) -> tuple[list[RunRecord], dict[str, list[Delivery]]]:
        """Every probe once, deliver what is due; the records and each event's deliveries.

        Takes the owner's lock when free; beside an owner (a running service) it works
        without releasing the owner's leases, which are that process's in-flight work.
        """
        lock = None if self.dry_run else try_lock(self.settings.state_dir)
        if lock is None and not self.dry_run:
            log.info("outbox_owned_elsewhere", leases="kept")
        try:
            await self._open_once(lock is not None or self.dry_run)
            return await self._once()
        finally:
            unlock(lock)

    async def _open_once(self, release_leases: bool) -> None:
        if isinstance(self.outbox, SqliteOutbox):
            await self.outbox.open(release_leases=release_leases)
        else:
            await self.outbox.open()

    async def _once(self) -> tuple[list[RunRecord], dict[str, list[Delivery]]]:
        try:
            async with make_client(self.settings.http_timeout.total_seconds()) as client:
                dispatcher, scheduler = self._parts(client)
                await scheduler.load_state()
                records = await scheduler.run_once()
                with anyio.move_on_after(self.grace * 3):
                    await dispatcher.run(until_idle=True)
            by_key: dict[str, list[Delivery]] = {}
            for record in records:
                if record.event is not None:
                    key = record.event.idempotency_key
                    by_key[key] = await self.outbox.deliveries(key=key)
            return records, by_key
        finally:
            await self.state.close()
            await self.outbox.close()


async def _trim_forever() -> None:
    """Return freed heap pages to the OS every minute (cancelled at shutdown)."""
    while True:
        await anyio.sleep(TRIM_EVERY)
        release_free_memory()


async def _wait_for_signal(stop: anyio.Event | None) -> None:
    """Return on SIGTERM/SIGINT or when `stop` is set."""
    async with anyio.create_task_group() as tg:

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    log.info("shutdown_requested", signal=signal.Signals(signum).name)
                    break
            # A repeat is common (Ctrl-C reaches `uv run` and its child, which uv then
            # signals again) and must not interrupt the bounded shutdown that follows: from
            # here on the process ignores them (leaving the receiver restored the defaults);
            # the grace bounds still end the shutdown.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            tg.cancel_scope.cancel()

        async def on_stop(event: anyio.Event) -> None:
            await event.wait()
            log.info("shutdown_requested", signal=None)
            tg.cancel_scope.cancel()

        tg.start_soon(on_signal)
        if stop is not None:
            tg.start_soon(on_stop, stop)


def _start(tg: TaskGroup, func: Callable[[], Awaitable[object]]) -> anyio.Event:
    """Start `func` in the group; the returned event is set when it returns."""
    done = anyio.Event()

    async def wrapper() -> None:
        try:
            await func()
        finally:
            done.set()

    tg.start_soon(wrapper)
    return done


def _scoped(
    scope: anyio.CancelScope, func: Callable[[], Awaitable[None]]
) -> Callable[[], Awaitable[None]]:
    async def wrapper() -> None:
        with scope:
            await func()

    return wrapper


async def _within(seconds: float, done: anyio.Event) -> None:
    with anyio.move_on_after(seconds):
        await done.wait()
