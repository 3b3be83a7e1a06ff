"""Pure scheduling logic: when each probe runs next, and whether its result is emitted.

No I/O and no clock of its own, so it is tested with plain numbers. `runner.py` drives it.

Timing: a probe's first run is spread uniformly over its first interval (1,000 probes do not
all start at once); each next run is `interval ± jitter` after the previous *start*, never
before the previous run has finished (no overlap).

Emission ("quiet by default"): an event is emitted when its fingerprint (the verdict and
the stable attributes) differs from the last emitted one, or when the heartbeat interval
has passed since the last emission.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from dataclasses import dataclass, field
from typing import Any

# Attributes that change on every run without changing what the evidence says.
# `tls_days_remaining` counts down (a tenth of a day at a time) from `tls_not_after`, which is
# stable and does count; the verdict still changes when it falls below `min_days`.
# A gate event's `evidence` names the runs it used (`run_id`, `observed_at`): new every probe
# run, while the context keys used, the status and the reasons are what it asserts.
VOLATILE_ATTRIBUTES = frozenset(
    {
        "latency_ms",
        "age_seconds",
        "message",
        "observed_at",
        "tls_days_remaining",
        "run_id",
    }
)
# Volatile only inside one attribute, at any depth below it. A publish (`ops-endpoint-
# verified`'s `publish`) pushes a new random image under a new tag on every run: its tag and
# digests (each step's is `digest`) are new each time while the verdict is the same, so they
# are left out there (every run would be emitted otherwise); a `tag` or `digest` anywhere
# else still counts.
VOLATILE_UNDER = {
    "publish": VOLATILE_ATTRIBUTES | {"tag", "digest", "manifest_digest", "blob_digest"},
}


def _stable(value: Any, volatile: frozenset[str] = VOLATILE_ATTRIBUTES) -> Any:
    """`value` without volatile keys at any depth: a per-address verdict has its own latency."""
    if isinstance(value, dict):
        return {
            k: _stable(v, VOLATILE_UNDER.get(k, volatile))
            for k, v in value.items()
            if k not in volatile
        }
    if isinstance(value, list):
        return [_stable(item, volatile) for item in value]
    return value


def fingerprint(event_type: str, attributes: dict[str, Any]) -> str:
    """A stable digest of what an event asserts (volatile attributes left out)."""
    text = json.dumps([event_type, _stable(attributes)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Emitted:
    """The last emission of a probe: what it said and when."""

    fingerprint: str
    at: float


def should_emit(last: Emitted | None, current: str, now: float, heartbeat: float) -> bool:
    """Emit on change, on first sight, or when the heartbeat is due."""
    return last is None or last.fingerprint != current or now - last.at >= heartbeat


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    key: str = field(compare=False)


@dataclass
class Timetable:
    """A heap of next-run times; one entry per probe that is not running."""

    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)
    _heap: list[_Entry] = field(default_factory=list)
    _intervals: dict[str, float] = field(default_factory=dict)
    _running: set[str] = field(default_factory=set)
    _seq: int = 0

    def add(
        self,
        key: str,
        interval: float,
        now: float,
        *,
        spread: bool = True,
        spread_cap: float | None = None,
        last_start: float | None = None,
    ) -> None:
        """Register a probe; its first run is spread over one interval (at most `spread_cap`),
        or, given the start of its last run before a restart, one interval after it (at once
        when that is past)."""
        self._intervals[key] = interval
        if last_start is not None:
            self._push(key, max(now, last_start + interval))
            return
        window = interval if spread_cap is None else min(interval, spread_cap)
        self._push(key, now + (self.rng.uniform(0, window) if spread else 0.0))

    def _push(self, key: str, due: float) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Entry(due, self._seq, key))

    def pop_due(self, now: float, limit: int | None = None) -> list[tuple[str, float]]:
        """Probes due at `now` (key, scheduled time), marked running; oldest first."""
        out: list[tuple[str, float]] = []
        while self._heap and self._heap[0].due <= now and (limit is None or len(out) < limit):
            entry = heapq.heappop(self._heap)
            self._running.add(entry.key)
            out.append((entry.key, entry.due))
        return out

    def finished(self, key: str, started: float, now: float) -> float:
        """A run ended: schedule the next one `interval ± jitter` after its start."""
        self._running.discard(key)
        interval = self._intervals[key]
        due = started + interval * (1 + self.rng.uniform(-self.jitter, self.jitter))
        due = max(due, now)  # a run longer than its interval goes again at once, not twice
        self._push(key, due)
        return due

    def next_due(self) -> float | None:
        """When the earliest waiting probe is due."""
        return self._heap[0].due if self._heap else None

    def running(self) -> frozenset[str]:
        """Probes currently running."""
        return frozenset(self._running)

    def __len__(self) -> int:
        return len(self._intervals)
