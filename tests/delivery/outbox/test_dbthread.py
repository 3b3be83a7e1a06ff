"""The outbox's DB thread: a write whose caller stopped waiting still settles quietly."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
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
