"""Freed heap memory goes back to the operating system."""

from __future__ import annotations

import gc
import platform
from pathlib import Path

import pytest

from ops_evidence.service.heap import freeze_startup_objects, release_free_memory


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_pages_inside_the_heap_are_returned() -> None:
    """After a burst is freed (but for a few survivors pinning the heap), RSS drops by most of it."""
    # 2 KiB blocks come from malloc, not pymalloc; keeping every 64th alive stops glibc from
    # trimming the heap top by itself, so only malloc_trim can give the rest back.
    burst = [bytes(2048) for _ in range(40_000)]  # ~80 MiB
    survivors = burst[::64]
    del burst
    before = _rss_kib()
    assert release_free_memory() is True
    after = _rss_kib()
    assert before - after > 40 * 1024, f"RSS {before} KiB -> {after} KiB"
    assert len(survivors) == 625


def test_frozen_start_up_objects_are_skipped_by_later_collections() -> None:
    """After the freeze, the objects alive at start-up are out of the collector's view: a
    collection walks only newer ones, and what dies later is still collected."""
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the test process's modules and objects

        class Cycle:
            pass

        later = Cycle()
        later.self = later  # type: ignore[attr-defined]
        del later
        assert gc.collect() >= 1  # newer cyclic garbage is still found
    finally:
        gc.unfreeze()
