"""The outbox's DB thread: group commit, the one-by-one retry of a failed batch, and a write
whose caller stopped waiting still settling quietly."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from ops_evidence.delivery.outbox.dbthread import DbThread

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """The asyncio loop's exception handler is what this checks."""
    return "asyncio"


async def test_a_cancelled_callers_failed_write_is_not_reported_unretrieved() -> None:
    """A write that fails after its caller was cancelled (a full disk, where the first
    failure cancels the service's other tasks) leaves no 'Future exception was never
    retrieved' report, which asyncio prints with a traceback."""
    db = DbThread(lambda: sqlite3.connect(":memory:", isolation_level=None))
    db.start()
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, ctx: reported.append(ctx))
    started, release = threading.Event(), threading.Event()

    def op(_: sqlite3.Connection) -> None:
        started.set()
        release.wait(10)
        raise sqlite3.OperationalError("database or disk is full")

    async with anyio.create_task_group() as tg:
        tg.start_soon(db.write, op)
        await anyio.to_thread.run_sync(started.wait)
        tg.cancel_scope.cancel()
    release.set()
    db.stop()  # the write has failed on the DB thread by now
    for _ in range(3):
        await anyio.lowlevel.checkpoint()  # the loop takes the thread's hand-over
    gc.collect()
    loop.set_exception_handler(None)
    assert [ctx["message"] for ctx in reported] == []


def _traced_db(statements: list[str]) -> DbThread:
    """A DbThread on an in-memory database with table t(x), recording every statement run."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        conn.set_trace_callback(statements.append)
        return conn

    db = DbThread(connect)
    db.start()
    return db


def _insert(x: int, *, fail: bool = False) -> Callable[[sqlite3.Connection], int]:
    """A write that inserts `x` and returns it; with `fail`, inserts and then raises."""

    def op(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (x) VALUES (?)", (x,))
        if fail:
            raise ValueError(f"write {x} refused")
        return x

    return op


async def _behind_a_held_write(
    db: DbThread, ops: list[Callable[[sqlite3.Connection], int]]
) -> list[int | Exception]:
    """Hold the DB thread in a first write, queue `ops` behind it, release it; each op's
    own outcome (its result or its exception), in order."""
    started, release = threading.Event(), threading.Event()

    def held(conn: sqlite3.Connection) -> int:
        started.set()
        release.wait(10)
        return 0

    outcomes: dict[int, int | Exception] = {}

    async def one(n: int, op: Callable[[sqlite3.Connection], int]) -> None:
        try:
            outcomes[n] = await db.write(op)
        except ValueError as exc:
            outcomes[n] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(db.write, held)
        await anyio.to_thread.run_sync(started.wait, 10)
        for n, op in enumerate(ops):
            tg.start_soon(one, n, op)
        await anyio.wait_all_tasks_blocked()  # every op is queued behind the held write
        release.set()
    return [outcomes[n] for n in range(len(ops))]


async def test_writes_queued_during_a_transaction_share_the_next_commit() -> None:
    """Writes that queue up while a transaction runs are committed together in the next
    one (one BEGIN/COMMIT for all of them), and each caller gets its own result."""
    statements: list[str] = []
    db = _traced_db(statements)
    try:
        outcomes = await _behind_a_held_write(db, [_insert(n) for n in range(1, 6)])
        rows = await db.read(lambda conn: conn.execute("SELECT x FROM t ORDER BY x").fetchall())
    finally:
        db.stop()
    assert outcomes == [1, 2, 3, 4, 5]
    assert rows == [(1,), (2,), (3,), (4,), (5,)]
    # The held write alone, then the five queued ones in a single transaction.
    assert statements.count("BEGIN IMMEDIATE") == 2
    assert statements.count("COMMIT") == 2


async def test_a_failed_batch_is_retried_one_by_one_and_blames_only_its_culprit() -> None:
    """When one write of a batch raises, the batch is rolled back and each write is run
    again in its own transaction: the others are committed and get their own results, the
    failing one gets its own error, and nothing it wrote before raising is kept."""
    statements: list[str] = []
    db = _traced_db(statements)
    try:
        outcomes = await _behind_a_held_write(db, [_insert(1), _insert(2, fail=True), _insert(3)])
        rows = await db.read(lambda conn: conn.execute("SELECT x FROM t ORDER BY x").fetchall())
    finally:
        db.stop()
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], ValueError)
    assert str(outcomes[1]) == "write 2 refused"
    assert outcomes[2] == 3
    assert rows == [(1,), (3,)]
    # The held write, the failed batch, then one transaction per write of it.
    assert statements.count("BEGIN IMMEDIATE") == 1 + 1 + 3
    assert statements.count("COMMIT") == 1 + 2


async def test_a_read_queued_among_writes_sees_the_state_before_their_batch() -> None:
    """A read met while collecting a batch runs at once, before the batch it was queued in
    the middle of is committed: reads are never held back by a batch, and never see half
    of one."""
    statements: list[str] = []
    db = _traced_db(statements)
    seen: list[list[tuple[int]]] = []
    started, release = threading.Event(), threading.Event()

    def held(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(10)

    async def read() -> None:
        seen.append(await db.read(lambda c: c.execute("SELECT x FROM t").fetchall()))

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(db.write, held)
            await anyio.to_thread.run_sync(started.wait, 10)
            tg.start_soon(db.write, _insert(1))
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(read)
            await anyio.wait_all_tasks_blocked()
            release.set()
        rows = await db.read(lambda conn: conn.execute("SELECT x FROM t").fetchall())
    finally:
        db.stop()
    assert seen == [[]]
    assert rows == [(1,)]
