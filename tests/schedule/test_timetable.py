"""Scheduling logic with a controllable clock: jitter bounds, no overlap, emission rules."""

from __future__ import annotations

import random

from ops_evidence.schedule.timetable import Emitted, Timetable, fingerprint, should_emit


def test_first_runs_are_spread_over_one_interval() -> None:
    """1,000 probes with a 60 s interval start spread over [0, 60), not all at once."""
    table = Timetable(rng=random.Random(5))
    for n in range(1000):
        table.add(f"p{n}", 60, now=0)
    due = [t for _, t in table.pop_due(now=60)]
    assert len(due) == 1000
    assert 0 <= min(due) < 1
    assert 59 < max(due) < 60
    assert sum(1 for t in due if t < 30) in range(400, 600)


def test_next_run_is_interval_plus_minus_jitter_after_start() -> None:
    """Each next run is within interval*(1±jitter) of the previous start."""
    table = Timetable(jitter=0.1, rng=random.Random(9))
    table.add("p", 100, now=0, spread=False)
    for _ in range(200):
        [(key, started)] = table.pop_due(now=10**9)
        due = table.finished(key, started, now=started + 1)
        assert 90 <= due - started <= 110


def test_no_overlap_while_running() -> None:
    """A running probe is not due again until it finished, however late it is."""
    table = Timetable(rng=random.Random(1))
    table.add("slow", 10, now=0, spread=False)
    assert [k for k, _ in table.pop_due(now=0)] == ["slow"]
    assert table.pop_due(now=1000) == []
    assert table.running() == {"slow"}
    due = table.finished("slow", started=0, now=1000)
    assert due == 1000  # overran its interval: next run now, once
    assert [k for k, _ in table.pop_due(now=1000)] == ["slow"]


def test_pop_due_respects_limit_and_order() -> None:
    """Due probes come oldest first and at most `limit` at a time."""
    table = Timetable()
    for name, at in (("p0", 5), ("p1", 1), ("p2", 3)):
        table.add(name, 100, now=at, spread=False)
    assert [k for k, _ in table.pop_due(now=10, limit=2)] == ["p1", "p2"]
    assert table.next_due() == 5


def test_emission_on_change_and_heartbeat() -> None:
    """Emit the first time, on change, and after the heartbeat; stay quiet otherwise."""
    a = fingerprint("ops-service-observed", {"verified": True, "status": "up", "latency_ms": 3})
    a2 = fingerprint("ops-service-observed", {"verified": True, "status": "up", "latency_ms": 9})
    b = fingerprint("ops-service-observed", {"verified": False, "status": "down"})
    assert a == a2  # latency is volatile
    assert should_emit(None, a, now=0, heartbeat=3600)
    last = Emitted(a, at=0)
    assert not should_emit(last, a2, now=3599, heartbeat=3600)
    assert should_emit(last, b, now=10, heartbeat=3600)
    assert should_emit(last, a, now=3600, heartbeat=3600)


def test_nested_latency_is_volatile() -> None:
    """A per-address verdict's latency does not make an event new; its verdict does."""

    def per_address(latency: float, verified: bool) -> str:
        verdict = {"address": "127.0.0.2", "verified": verified, "latency_ms": latency}
        return fingerprint("ops-endpoint-verified", {"verified": True, "addresses": [verdict]})

    assert per_address(1.0, True) == per_address(7.5, True)
    assert per_address(1.0, True) != per_address(1.0, False)


def test_the_tls_countdown_alone_does_not_make_an_event_new() -> None:
    """Days left fall by a tenth every 2.4 hours: not a change; a new certificate (its
    `tls_not_after`) or the verdict is."""

    def tls(days: float, not_after: str, verified: bool = True) -> str:
        attributes = {"verified": verified, "tls_days_remaining": days, "tls_not_after": not_after}
        return fingerprint("ops-endpoint-verified", attributes)

    assert tls(30.1, "2027-01-02T00:00:00Z") == tls(29.9, "2027-01-02T00:00:00Z")
    assert tls(30.1, "2027-01-02T00:00:00Z") != tls(30.1, "2027-03-02T00:00:00Z")
    assert tls(2.9, "2026-12-06T00:00:00Z") != tls(2.9, "2026-12-06T00:00:00Z", verified=False)


def test_a_publish_tag_and_digests_are_volatile_only_inside_the_publish() -> None:
    """Each publish pushes a new image (new tag and digests): not a change. A `tag` or
    `digest` outside `publish` (any other attribute of that name) still counts."""

    def event(tag: str, digest: str, outside: str = "a") -> str:
        step = {"name": "manifest-put", "status": 201, "digest": digest}
        publish = {"verified": True, "tag": tag, "manifest_digest": digest, "steps": [step]}
        attributes = {"verified": True, "publish": publish, "tag": outside, "digest": outside}
        return fingerprint("ops-endpoint-verified", attributes)

    assert event("t1", "sha256:1") == event("t2", "sha256:2")
    assert event("t1", "sha256:1", outside="a") != event("t1", "sha256:1", outside="b")
