"""One thread owns the SQLite connection; writes are group-committed.

SQLite connections must not hop between threads, and anyio's worker pool would run each
call on whichever thread is free. So a single dedicated thread runs every statement. Writes
that queue up while a transaction is being fsynced are committed together in the next
transaction (group commit): with `synchronous=FULL` each commit costs an fsync, and
batching keeps the per-event cost flat under load without weakening durability — a caller's
write is only acknowledged after the COMMIT that contains it has returned.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]
_MAX_BATCH = 256


class DbThread:
    """Runs callables against one connection on one thread; awaitable from async code."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str = "outbox-db") -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[tuple[Op, Future[Any], bool] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready: Future[None] = Future()

    def start(self) -> None:
        """Start the thread and open the connection; raises what connecting raised."""
        self._thread.start()
        self._ready.result()

    def stop(self) -> None:
        """Finish queued work, close the connection, join the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    async def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read-only callable."""
        result: T = await self._submit(op, write=False)
        return result

    async def write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run a callable inside a committed transaction (possibly shared with others)."""
        result: T = await self._submit(op, write=True)
        return result

    async def _submit(self, op: Op, *, write: bool) -> Any:
        future: Future[Any] = Future()
        self._queue.put((op, future, write))
        # The operation completes on the DB thread even if this task is cancelled, so a
        # record is never half-written; the caller just stops waiting for it.
        waited = asyncio.wrap_future(future)
        try:
            return await asyncio.shield(waited)
        except asyncio.CancelledError:
            # Nobody will read its outcome now: take it, or asyncio prints "Future exception
            # was never retrieved" with a traceback when a cancelled write fails (a full
            # disk, where the first failure cancels the service's other tasks).
            waited.add_done_callback(_discard_outcome)
            raise

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # noqa: BLE001 - handed to the starter, re-raised there
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while (item := self._queue.get()) is not None:
                op, future, write = item
                if not write:
                    _settle(future, op, conn)
                    continue
                batch = [(op, future)]
                stop = self._drain_writes(batch, conn)
                self._commit(conn, batch)
                if stop:
                    break
        finally:
            conn.close()

    def _drain_writes(self, batch: list[tuple[Op, Future[Any]]], conn: sqlite3.Connection) -> bool:
        """Add queued writes to the batch; run reads met on the way; True on stop."""
        while len(batch) < _MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            op, future, write = item
            if write:
                batch.append((op, future))
            else:
                _settle(future, op, conn)
        return False

    @staticmethod
    def _commit(conn: sqlite3.Connection, batch: list[tuple[Op, Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = [op(conn) for op, _ in batch]
            conn.execute("COMMIT")
        except Exception:  # noqa: BLE001 - retried one by one to blame the right caller
            conn.execute("ROLLBACK") if conn.in_transaction else None
            for op, future in batch:
                _settle(future, functools.partial(_single, op=op), conn)
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


def _discard_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _single(conn: sqlite3.Connection, op: Op) -> Any:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = op(conn)
        conn.execute("COMMIT")
    except BaseException:
        # SQLite has already rolled back after some errors (SQLITE_FULL: "database or disk
        # is full"); a second ROLLBACK would raise and hide the real cause from the report.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _settle(future: Future[Any], op: Op, conn: sqlite3.Connection) -> None:
    try:
        future.set_result(op(conn))
    except Exception as exc:  # noqa: BLE001 - delivered to the awaiting task
        future.set_exception(exc)
