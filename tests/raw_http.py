"""A one-thread raw HTTP server on 127.0.0.1 for faults a real server will not produce on
demand: never answering, or closing the connection in the middle of a response.

It counts what it did (connections accepted, request heads read, connections closed) and lets
a test wait for a count with a deadline, so no test has to sleep and hope.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio.to_thread


class RawServer:
    """What the server has done so far; `until` waits for it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.accepted = 0
        self.heads = 0
        self.closed = 0
        self._changed = threading.Condition()

    def count(self, what: str) -> None:
        """Add one to the counter `what` and wake every waiter."""
        with self._changed:
            setattr(self, what, getattr(self, what) + 1)
            self._changed.notify_all()

    async def until(self, ready: Callable[[], bool], what: str, deadline: float = 5.0) -> None:
        """Wait (in a worker thread, the loop keeps running) until `ready()`; fail after
        `deadline` seconds naming `what`."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(ready, deadline)

        if not await anyio.to_thread.run_sync(wait):
            raise AssertionError(f"{what} within {deadline}s")


@contextmanager
def raw_server(answer: bytes | None, *, close_after: bool) -> Iterator[RawServer]:
    """Serve on 127.0.0.1: read each request head, write `answer` (None: never answer, hold
    the connection up to 2 s), then close the connection if `close_after`, else wait for
    the client to send more or leave."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            server.count("accepted")
            try:
                _answer(conn, answer, close_after, stop, server)
            finally:
                conn.close()
                server.count("closed")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()


def _answer(
    conn: socket.socket,
    answer: bytes | None,
    close_after: bool,
    stop: threading.Event,
    server: RawServer,
) -> None:
    conn.settimeout(2.0)
    try:
        while b"\r\n\r\n" not in (head := conn.recv(65536)) and head:
            pass
        server.count("heads")
        if answer is None:
            stop.wait(2.0)
            return
        conn.sendall(answer)
        if not close_after:
            conn.recv(65536)
    except OSError:
        return
