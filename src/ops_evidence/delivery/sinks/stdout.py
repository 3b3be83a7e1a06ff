"""Stdout sink for `--dry-run`: each event as one JSON line."""

from __future__ import annotations

import sys
from typing import TextIO

from ops_evidence.delivery.outbox.models import Delivery
from ops_evidence.delivery.sinks.base import Attempt


class StdoutSink:
    """Writes the stored event JSON (already redacted) as a line on stdout."""

    name = "stdout"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, delivery: Delivery) -> Attempt:
        """Print and flush; a closed pipe is a permanent rejection, a failed write (a full
        disk behind a redirect) a transient one, never a crash."""
        stream = self._stream or sys.stdout
        try:
            stream.write((delivery.body or b"{}").decode() + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError) as exc:
            # The reader went away (`| head`) or the stream was closed: it will not come back.
            return Attempt("rejected", error=f"stdout: {type(exc).__name__}")
        except OSError as exc:
            # ENOSPC, EIO...: the line may fit later, as a full disk is freed.
            return Attempt("transient", error=f"stdout: {type(exc).__name__}: {exc.strerror}")
        return Attempt("delivered")
