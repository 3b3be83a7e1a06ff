"""Delivery benchmarks: drain rate vs wrk, cost per event vs outbox size, a SIGKILL soak.

Everything runs on 127.0.0.1. The Inter-Hub emulator runs as its own process
(`ops-evidence emulate`), so neither the measured client nor wrk shares a GIL with it. Its
consumer key is generated here at run time and handed over by environment variable only
(the emulator's config names `key_env`; wrk's Lua script reads it with `os.getenv`; the
drain children get `OPS_HUB_KEY`) — never on a command line, never printed.

1. Drain rate: `wrk` (1 thread, as many connections as the dispatcher's concurrency)
   posting one valid interaction event with the bearer key, against the outbox drain
   (the real Dispatcher, in this process) delivering a backlog of N events to the same
   endpoint. Median of the repetitions; the ratio of medians (target >= 0.5).
2. Cost per event with 10^3, 10^5, 10^6 rows already in the outbox: enqueue + claim +
   record of a fixed batch, one claim of 8 and one record per result (the most per-event
   work the dispatcher does), in CPU time of this process (all threads: the DB thread
   included). The big outboxes are built with direct SQL inserts in
   one transaction into the real schema (`delivery/outbox/schema.py`); the measurement goes through
   `SqliteOutbox` with its production pragmas (WAL, synchronous=FULL).
3. Crash soak against the emulator's `minimal` profile (only what the seeds state: pages of
   20 by page/limit, newest first, no key filter, no dedupe), all events on one widget and
   one event type: `ops-evidence outbox drain` children SIGKILLed at random points while
   the emulator answers 50% of posts with 503, drops the connection after storing 20% of
   them (the ambiguous case) and before storing 10%; then one final drain. Run twice: once
   with reads served cleanly, once with the list reads failing in the same proportions.
   Lost and duplicated events are counted from the emulator's stored idempotency keys and
   `/_emulator/duplicates` (target 0 and 0); requests per event from its route counters.

    uv run python bench/delivery.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the outbox filler and event builders shared with the tests

from ops_evidence.logging import configure_logging  # noqa: E402 - after the path setup

# Before importing the delivery modules: their module-level loggers bind the structlog
# configuration in force at import time. The product's default level (info, one JSON line per
# delivery) is kept, so its cost is measured; the lines go to /dev/null.
configure_logging("info", "json", Path(os.devnull).open("w"))  # noqa: SIM115 - process lifetime

from tests.delivery_support import MAPPING, fill_outbox, stored_keys  # noqa: E402
from tests.factories import endpoint_event  # noqa: E402

from ops_evidence.config.settings import load_settings  # noqa: E402
from ops_evidence.delivery.backoff import RetryPolicy  # noqa: E402
from ops_evidence.delivery.dispatcher import Dispatcher  # noqa: E402
from ops_evidence.delivery.factory import build_sinks, open_outbox  # noqa: E402
from ops_evidence.delivery.outbox import NewDelivery, Result, SqliteOutbox, StoredEvent  # noqa: E402
from ops_evidence.delivery.outbox.schema import ACTIVE_SQL, migrate  # noqa: E402
from ops_evidence.delivery.router import Router  # noqa: E402
from ops_evidence.delivery.sinks.http import MAX_CONNECTIONS, make_client  # noqa: E402
from ops_evidence.events.envelope import new_run_id  # noqa: E402
from ops_evidence.http.cookieless import CookielessClient  # noqa: E402
from ops_evidence.http.trust import ssl_context as trusted_context  # noqa: E402

KEY_ENV = "BENCH_OPS_HUB_KEY"
EVENTS_PATH = "/api/v2/interaction-events"
CONCURRENCY = 8  # the Dispatcher's default; wrk gets the same number of connections
STARTUP_DEADLINE = 30.0
SOAK_FAULTS = {
    "seed": 4,
    "error_rates": {"503": 0.5},
    "reset_after_commit": 0.2,
    "reset_before_commit": 0.1,
    # A little latency keeps requests in flight, so kills land mid-request too.
    "latency_ms": 4,
    "latency_jitter_ms": 8,
}
POSTS = "POST /api/v2/interaction-events"
READS = "GET /api/v2/interaction-events"
# The second soak: the read-backs' list reads fail as often as the posts.
SOAK_FAULTS_READS = {**SOAK_FAULTS, "seed": 5, "targets": [POSTS, READS, "POST /progress/"]}
WRK_SCRIPT = """-- POST one valid interaction event; the key comes from the environment only.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("{key_env}")
wrk.headers["Idempotency-Key"] = "{key}"
wrk.body = [==[{body}]==]
"""


@dataclass(frozen=True)
class Options:
    """What one run measures; `--quick` shrinks every loop for a smoke run."""

    events: int
    wrk_seconds: int
    repeats: int
    sizes: tuple[int, ...]
    batch: int
    kills: int
    soak_events: int
    transport: str = "ours"


FULL = Options(
    events=5000,
    wrk_seconds=5,
    repeats=3,
    sizes=(10**3, 10**5, 10**6),
    batch=2000,
    kills=100,
    soak_events=5000,
)
QUICK = Options(
    events=500, wrk_seconds=2, repeats=1, sizes=(10**3, 10**4), batch=300, kills=3, soak_events=400
)


# --- the emulator process --------------------------------------------------------------------


@contextmanager
def emulator(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """`ops-evidence emulate` on 127.0.0.1 (free port); yields its base URL."""
    config = {
        "consumers": [{"name": "ops-evidence", "key_env": KEY_ENV}],
        # Read-backs after every kill would exhaust the default 600 reads/minute and turn
        # the soak into a test of 429 waits; the read limit is not what is measured here.
        "read_rate_limit": {"requests": 10_000_000, "window_seconds": 60},
        # Only what the seeds state (docs/contracts.md, list profiles): the soak's read-backs
        # must hold against it. Posts (the drain rate) do not depend on the profile.
        "profile": "minimal",
    }
    path = folder / "emulator.json"
    path.write_text(json.dumps(config))
    argv = [
        sys.executable,
        "-m",
        "ops_evidence",
        "emulate",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--config",
        str(path),
    ]
    with (folder / "emulator.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=log)
        try:
            yield _listening_url(proc)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _listening_url(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], STARTUP_DEADLINE)
    line = proc.stdout.readline().decode() if ready else ""
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if match is None:
        raise SystemExit(f"the emulator did not start (see its log): {line!r}")
    return match.group(1)


def reset_emulator(url: str, faults: dict[str, Any] | None = None) -> None:
    """Forget every stored event (memory grows otherwise); set the fault plan."""
    httpx.put(f"{url}/_emulator/faults", json=faults or {}).raise_for_status()
    httpx.post(f"{url}/_emulator/reset").raise_for_status()


def stored_count(url: str) -> int:
    """Interaction events the emulator holds."""
    count: int = httpx.get(f"{url}/_emulator/counts").json()["interaction_events"]
    return count


# --- 1. drain rate vs wrk --------------------------------------------------------------------


def sample_body() -> tuple[str, bytes]:
    """One event's idempotency key and Inter-Hub body, exactly as the router stores it."""
    stored, deliveries = Router(load_settings()).plan(endpoint_event("wrk"))
    body = deliveries[0].body
    assert body is not None
    assert deliveries[0].sink == "inter-hub"
    return stored.key, body


def run_wrk(url: str, script: Path, seconds: int) -> float:
    """wrk's requests/s; every answer must have been a 2xx."""
    argv = [
        "wrk",
        "-t1",
        f"-c{CONCURRENCY}",
        f"-d{seconds}s",
        "-s",
        str(script),
        f"{url}{EVENTS_PATH}",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30)
    if "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        raise SystemExit(f"wrk saw errors:\n{out.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if match is None:
        raise SystemExit(f"cannot read wrk's output:\n{out.stdout}")
    return float(match.group(1))


def sink_client(transport: str, timeout: float) -> httpx.AsyncClient:
    """The sinks' client (`ours`), or the same on httpx's own pooled transport (`httpx`)."""
    if transport == "ours":
        return make_client(timeout)
    return CookielessClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        transport=httpx.AsyncHTTPTransport(
            verify=trusted_context(), limits=httpx.Limits(max_connections=MAX_CONNECTIONS)
        ),
    )


async def _drain_in_process(deadline: float, transport: str) -> float:
    """Run the Dispatcher until the backlog is delivered; seconds from first claim to idle."""
    settings = load_settings()
    outbox = open_outbox(settings)
    await outbox.open()
    try:
        async with sink_client(transport, settings.http_timeout.total_seconds()) as client:
            policy = RetryPolicy.from_settings(settings)
            dispatcher = Dispatcher(
                outbox,
                Router(settings, policy).outcomes,
                build_sinks(settings, client),
                lease=policy.lease,
            )
            started = time.perf_counter()
            with anyio.fail_after(deadline):
                await dispatcher.run(until_idle=True)
            return time.perf_counter() - started
    finally:
        await outbox.close()


def drain_rate(url: str, state: Path, events: int, transport: str = "ours") -> float:
    """Fill a fresh outbox with `events`, drain it to the emulator; events/s."""
    shutil.rmtree(state, ignore_errors=True)
    reset_emulator(url)
    fill_outbox(state, events, dict(os.environ))
    seconds = anyio.run(_drain_in_process, 300.0, transport)
    delivered = stored_count(url)
    if delivered != events:
        raise SystemExit(f"drain stored {delivered} of {events} events")
    return events / seconds


def bench_drain(url: str, folder: Path, opts: Options) -> tuple[float, float]:
    """Median wrk requests/s and median drain events/s, alternating so both see the same load."""
    key, body = sample_body()
    script = folder / "post.lua"
    script.write_text(WRK_SCRIPT.format(key_env=KEY_ENV, key=key, body=body.decode()))
    wrk_rates, drain_rates = [], []
    for _ in range(opts.repeats):
        reset_emulator(url)
        wrk_rates.append(run_wrk(url, script, opts.wrk_seconds))
        drain_rates.append(drain_rate(url, folder / "drain", opts.events, opts.transport))
        print(
            f"  wrk {wrk_rates[-1]:8.0f} req/s   drain {drain_rates[-1]:8.0f} events/s", flush=True
        )
    reset_emulator(url)
    return statistics.median(wrk_rates), statistics.median(drain_rates)


# --- 2. cost per event vs outbox size --------------------------------------------------------


def build_outbox(path: Path, rows: int, sample: tuple[StoredEvent, bytes]) -> None:
    """`rows` events already in the outbox, written with direct SQL in one transaction.

    The mix a long-running service accumulates: 98.9% delivered to Inter-Hub; 1% rejected
    there and delivered to State Hub instead; 0.1% of an undeclared type, deferred an hour
    ahead (active rows that the claim query must step over). Keys are time-ordered like real
    ones (`run_id` starts with a timestamp), all older than the batch measured afterwards.
    """
    stored, body = sample
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    migrate(conn)
    # Building only: the measurement reopens it through SqliteOutbox (synchronous=FULL).
    conn.execute("PRAGMA synchronous = OFF")
    now = time.time()
    start = datetime.now(UTC) - timedelta(days=3)
    conn.execute("BEGIN")
    for first in range(0, rows, 10_000):
        events, deliveries = [], []
        for n in range(first, min(rows, first + 10_000)):
            created = start + timedelta(milliseconds=100 * n)
            key = f"{new_run_id(created)}|endpoint:fill{n}|ops-endpoint-verified"
            at = created.timestamp()
            events.append((key, stored.event_type, f"endpoint:fill{n}", at, stored.event_json))
            inter, extra = "delivered", None
            due = 0.0
            if n % 100 == 7:
                inter, extra = "rejected", "delivered"
            elif n % 1000 == 3:
                inter, extra, due = "inter_hub_sink_deferred", "delivered", now + 3600
            deliveries.append((key, "inter-hub", inter, 1, due, body, stored.event_type, at))
            if extra is not None:
                deliveries.append((key, "state-hub", extra, 1, 0.0, body, stored.event_type, at))
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
        conn.executemany(
            "INSERT INTO deliveries (key, sink, status, attempts, next_attempt_at, body, "
            "event_type, context_key, created_at, updated_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'endpoint:fill', ?8, ?8)",
            deliveries,
        )
    conn.execute("UPDATE counters SET value = ? WHERE name = 'events'", (rows,))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@dataclass(frozen=True)
class Cost:
    """One batch through the outbox: CPU and wall seconds, and one stats() call."""

    cpu: float
    wall: float
    stats: float


async def _batch_cost(
    path: Path, rows: int, planned: Sequence[tuple[StoredEvent, list[NewDelivery]]]
) -> Cost:
    """Enqueue the batch, then claim and record it the way the dispatcher does."""
    box = SqliteOutbox(path, max_rows=rows + len(planned) + 1)
    await box.open()
    try:
        await box.next_due("inter-hub")  # connection set up, schema read
        cpu, wall = time.process_time(), time.perf_counter()
        for stored, deliveries in planned:
            await box.enqueue(stored, deliveries)
        while claimed := await box.claim("inter-hub", time.time(), CONCURRENCY, 60.0):
            for delivery in claimed:
                await box.record(
                    [Result(delivery.key, delivery.sink, "delivered", http_status=201)], time.time()
                )
            await box.next_due("inter-hub")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        started = time.perf_counter()
        await box.stats()
        stats = time.perf_counter() - started
        # Put the outbox back to its size for the next round.
        keys = [(stored.key,) for stored, _ in planned]
        await box._db.write(  # bench-only cleanup, through the DB thread like every write
            lambda c: (
                c.executemany("DELETE FROM events WHERE key = ?", keys),
                c.execute("UPDATE counters SET value = ? WHERE name = 'events'", (rows,)),
            )
        )
    finally:
        await box.close()
    return Cost(cpu, wall, stats)


def bench_sizes(folder: Path, opts: Options) -> dict[int, Cost]:
    """Median cost of the batch at each outbox size; rounds interleave the sizes."""
    router = Router(load_settings())
    planned = [router.plan(endpoint_event(f"batch{n}")) for n in range(opts.batch)]
    stored, deliveries = planned[0]
    assert deliveries[0].body is not None
    paths = {}
    for rows in opts.sizes:
        paths[rows] = folder / f"outbox-{rows}.sqlite3"
        started = time.perf_counter()
        build_outbox(paths[rows], rows, (stored, deliveries[0].body))
        print(
            f"  built {rows:>9,} rows in {time.perf_counter() - started:5.1f} s "
            f"({paths[rows].stat().st_size / 2**20:,.0f} MiB)",
            flush=True,
        )
    costs: dict[int, list[Cost]] = {rows: [] for rows in opts.sizes}
    for _ in range(opts.repeats):
        for rows in opts.sizes:
            cost = anyio.run(_batch_cost, paths[rows], rows, planned)
            costs[rows].append(cost)
            print(
                f"  {rows:>9,} rows: {cost.cpu / opts.batch * 1e6:6.0f} us CPU/event, "
                f"{cost.wall / opts.batch * 1e6:6.0f} us wall/event",
                flush=True,
            )
    for path in paths.values():
        path.unlink()
    fields = ("cpu", "wall", "stats")
    return {
        rows: Cost(*(statistics.median(getattr(c, f) for c in cs) for f in fields))
        for rows, cs in costs.items()
    }


def explain(folder: Path) -> list[str]:
    """EXPLAIN QUERY PLAN of the hot outbox queries (on an empty outbox with the schema)."""
    path = folder / "explain.sqlite3"
    conn = sqlite3.connect(path)
    migrate(conn)
    # Fixed SQL built from the schema's own constant (no values): S608 does not apply.
    queries = {
        "claim": (
            f"SELECT key FROM deliveries WHERE sink = 'inter-hub' AND status IN {ACTIVE_SQL} "  # noqa: S608
            "AND next_attempt_at <= 1 AND lease_until <= 1 ORDER BY next_attempt_at LIMIT 8"
        ),
        "next_due": (
            "SELECT MAX(next_attempt_at, lease_until) FROM deliveries "  # noqa: S608
            f"WHERE sink = 'inter-hub' AND status IN {ACTIVE_SQL} "
            "ORDER BY MAX(next_attempt_at, lease_until) LIMIT 1"
        ),
        "stats counts": "SELECT sink, status, COUNT(*) FROM deliveries GROUP BY sink, status",
        "stats oldest": f"SELECT MIN(created_at) FROM deliveries WHERE status IN {ACTIVE_SQL}",  # noqa: S608
    }
    lines = []
    for name, sql in queries.items():
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        lines.append(f"  {name:<13} {' / '.join(plan)}")
    conn.close()
    path.unlink()
    return lines


# --- 3. crash soak ---------------------------------------------------------------------------


def active_inter_hub(state: Path) -> int:
    """Inter-Hub deliveries still to do (read while no child runs)."""
    conn = sqlite3.connect(state / "outbox.sqlite3")
    try:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM deliveries "  # noqa: S608 - a schema constant, no values
            f"WHERE sink = 'inter-hub' AND status IN {ACTIVE_SQL}"
        ).fetchone()
    finally:
        conn.close()
    return int(count)


def outbox_counts(state: Path) -> dict[str, int]:
    """Deliveries per `sink:status` in the outbox."""
    conn = sqlite3.connect(state / "outbox.sqlite3")
    try:
        rows = conn.execute("SELECT sink, status, COUNT(*) FROM deliveries GROUP BY sink, status")
        return {f"{sink}:{status}": int(n) for sink, status, n in rows}
    finally:
        conn.close()


def _drain_child(state: Path, timeout: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPS_EVIDENCE_STATE_DIR": str(state)}
    return subprocess.Popen(
        [sys.executable, "-m", "ops_evidence", "outbox", "drain", "--timeout", str(timeout)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class Soak:
    """What the soak did and found."""

    kills: int
    kills_mid_delivery: int
    events: int
    stored: int
    lost: int
    duplicated: int
    emulator_duplicates: int
    faults: dict[str, int]
    outbox: dict[str, int]
    seconds: float
    final_drain: float
    posts: int
    reads: int


def bench_soak(
    url: str, folder: Path, opts: Options, seed: int, faults: dict[str, Any] = SOAK_FAULTS
) -> Soak:
    """SIGKILL drain children at random points under faults; then one final drain."""
    state = folder / "soak"
    shutil.rmtree(state, ignore_errors=True)
    reset_emulator(url, faults)
    started = time.perf_counter()
    keys, kills, mid_delivery = _kill_children(url, state, opts, random.Random(seed))
    final_started = time.perf_counter()
    final = _drain_child(state, 900.0)
    if final.wait(timeout=960) != 0:
        raise SystemExit("the final drain did not finish")
    final_drain = time.perf_counter() - final_started
    seconds = time.perf_counter() - started
    stored = Counter(stored_keys(url))
    duplicates: dict[str, int] = httpx.get(f"{url}/_emulator/duplicates").json()
    counts = httpx.get(f"{url}/_emulator/counts").json()
    routes: dict[str, int] = counts["requests_by_route"]
    reset_emulator(url)
    return Soak(
        kills=kills,
        kills_mid_delivery=mid_delivery,
        events=len(keys),
        stored=sum(stored.values()),
        lost=len(set(keys) - set(stored)),
        duplicated=sum(n - 1 for n in stored.values() if n > 1),
        emulator_duplicates=sum(n - 1 for n in duplicates.values()),
        faults=counts["faults"],
        outbox=outbox_counts(state),
        seconds=seconds,
        final_drain=final_drain,
        posts=routes.get(POSTS, 0),
        reads=routes.get(READS, 0),
    )


def _kill_children(
    url: str, state: Path, opts: Options, rng: random.Random
) -> tuple[list[str], int, int]:
    """Start and SIGKILL drain children until `opts.kills` kills; (keys, kills, kills with
    progress since the previous one)."""
    keys = fill_outbox(state, opts.soak_events, dict(os.environ))
    kills = mid_delivery = last = 0
    # Bounded: the kill count, plus a wall-clock budget in case children stop making progress.
    budget = time.perf_counter() + 60 + 8 * opts.kills
    while kills < opts.kills and time.perf_counter() < budget:
        if active_inter_hub(state) < opts.soak_events // 2:
            # Top up between children so every kill lands while a backlog remains.
            keys += fill_outbox(state, opts.soak_events, dict(os.environ))
        child = _drain_child(state, 120.0)
        try:
            # The child needs ~1.3 s to import and open the outbox; kills before that hit
            # start-up (lease reset, first claims), later ones hit delivery.
            child.wait(timeout=rng.uniform(0.8, 3.0))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
            now = stored_count(url)
            mid_delivery += now > last
            last = now
            if kills % 10 == 0:
                print(f"  {kills} kills, {now:,} events stored", flush=True)
    return keys, kills, mid_delivery


# --- the run ---------------------------------------------------------------------------------


def delivery_environment(url: str, state: Path, key: str) -> dict[str, str]:
    """This process's and the drain children's environment: the emulator as both hubs."""
    return {
        "INTER_HUB_URL": url,
        "OPS_HUB_KEY": key,
        KEY_ENV: key,
        "OPS_HUB_WIDGET_MAPPING": MAPPING,
        "STATE_HUB_URL": url,
        "OPS_EVIDENCE_STATE_DIR": str(state),
        # Short backoff so the soak's 503s are retried within seconds, not minutes.
        "OPS_EVIDENCE_RETRY_BASE": "20ms",
        "OPS_EVIDENCE_RETRY_CAP": "200ms",
        "OPS_EVIDENCE_HTTP_TIMEOUT": "5s",
        # The product's default level: the drain logs one line per delivery, as in service.
        "OPS_EVIDENCE_LOG_LEVEL": "info",
        "OPS_EVIDENCE_LOG_FORMAT": "json",
    }


def main() -> None:
    """Run the three benchmarks against one emulator process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small loops: a smoke run")
    parser.add_argument("--kills", type=int, help="SIGKILLs in the soak (default 100)")
    parser.add_argument("--seed", type=int, default=20261123, help="kill-timing seed")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["drain", "sizes", "soak", "soak-reads"],
        help="leave a part out",
    )
    parser.add_argument(
        "--transport",
        choices=["ours", "httpx"],
        default="ours",
        help="the drain's HTTP transport: ours (the sinks') or httpx's own pool",
    )
    args = parser.parse_args()
    opts = QUICK if args.quick else FULL
    opts = Options(**{**opts.__dict__, "transport": args.transport})
    if args.kills is not None:
        opts = Options(**{**opts.__dict__, "kills": args.kills})
    if shutil.which("wrk") is None:
        raise SystemExit("apt-get install wrk")
    key = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        folder = Path(tmp)
        os.environ.update({KEY_ENV: key, "OPS_EVIDENCE_LOG_LEVEL": "warning"})
        with emulator(folder, dict(os.environ)) as url:
            os.environ.update(delivery_environment(url, folder / "drain", key))
            report(url, folder, opts, args)


def soak_rows(what: str, soak: Soak) -> list[str]:
    """The table rows of one crash soak."""
    return [
        f"crash soak, {what}:",
        row(
            "SIGKILLs (with progress since the last)",
            f"{soak.kills:>12} ({soak.kills_mid_delivery})",
        ),
        row("events enqueued / stored by the emulator", f"{soak.events:>12,} / {soak.stored:,}"),
        row("lost", f"{soak.lost:>12}   (target 0)"),
        row(
            "duplicated (stored keys; /_emulator/duplicates)",
            f"{soak.duplicated:>12} ; {soak.emulator_duplicates}   (target 0)",
        ),
        row(
            "requests per event: posts / list reads",
            f"{soak.posts / soak.events:>12.2f} / {soak.reads / soak.events:.2f}",
        ),
        row("faults injected", json.dumps(soak.faults)),
        row("outbox after the final drain", json.dumps(soak.outbox)),
        row("soak wall time / final drain", f"{soak.seconds:>12.0f} s / {soak.final_drain:.0f} s"),
    ]


def row(label: str, value: str) -> str:
    """One line of the result table."""
    return f"{label:<48}{value}"


def report(url: str, folder: Path, opts: Options, args: argparse.Namespace) -> None:
    """Run the parts and print the table."""
    lines = []
    if "drain" not in args.skip:
        lines += _drain_lines(url, folder, opts)
    if "sizes" not in args.skip:
        lines += _size_lines(folder, opts)
    for part, faults, what in (
        ("soak", SOAK_FAULTS, "posts failing"),
        ("soak-reads", SOAK_FAULTS_READS, "posts and list reads failing"),
    ):
        if part not in args.skip:
            print(
                f"crash soak ({what}): {opts.kills} SIGKILLs under 50% 503 + 20% reset "
                "after commit + 10% before, minimal profile",
                flush=True,
            )
            lines += soak_rows(what, bench_soak(url, folder, opts, args.seed, faults))
    print()
    print("\n".join(lines))


def _drain_lines(url: str, folder: Path, opts: Options) -> list[str]:
    print(
        f"drain rate: wrk -t1 -c{CONCURRENCY} vs a backlog of {opts.events:,} events "
        f"(transport: {opts.transport})",
        flush=True,
    )
    wrk, drain = bench_drain(url, folder, opts)
    return [
        f"{'wrk POST ' + EVENTS_PATH:<48}{wrk:>12,.0f} req/s",
        f"{'outbox drain (Dispatcher, concurrency 8)':<48}{drain:>12,.0f} events/s",
        f"{'ratio drain / wrk':<48}{drain / wrk:>12.2f}   (target >= 0.5)",
    ]


def _size_lines(folder: Path, opts: Options) -> list[str]:
    print(f"cost per event: {opts.batch:,} events enqueued, claimed, recorded", flush=True)
    costs = bench_sizes(folder, opts)
    lines = []
    for rows, cost in costs.items():
        lines.append(
            f"{f'outbox with {rows:,} rows':<48}{cost.cpu / opts.batch * 1e6:>12,.0f} "
            f"us CPU/event  {cost.wall / opts.batch * 1e6:>6,.0f} us wall/event  "
            f"stats() {cost.stats * 1000:,.1f} ms"
        )
    small, big = costs[min(costs)], costs[max(costs)]
    lines.append(
        f"{'ratio CPU largest / smallest':<48}{big.cpu / small.cpu:>12.2f}   (target <= 1.2)"
    )
    lines.append(f"{'ratio wall largest / smallest':<48}{big.wall / small.wall:>12.2f}")
    lines.append("query plans:")
    lines += explain(folder)
    return lines


if __name__ == "__main__":
    main()
