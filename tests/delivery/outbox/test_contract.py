"""One contract suite for every outbox implementation (SQLite and in-memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import pytest

from ops_evidence.delivery.outbox import (
    MemoryOutbox,
    NewDelivery,
    Outbox,
    Result,
    SqliteOutbox,
    StoredEvent,
)
from ops_evidence.delivery.outbox.models import DEFERRED, DUE, FINAL, Status
from ops_evidence.errors import OutboxFullError

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "memory"])
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    """A fresh, opened outbox with a small cap."""
    box: Outbox = (
        SqliteOutbox(tmp_path / "outbox.sqlite3", max_rows=100)
        if request.param == "sqlite"
        else MemoryOutbox(max_rows=100)
    )
    await box.open()
    yield box
    await box.close()


def _event(n: int, created: float = 0.0) -> StoredEvent:
    return StoredEvent(
        f"run|endpoint:e{n}|ops-endpoint-verified",
        "ops-endpoint-verified",
        f"endpoint:e{n}",
        created,
        b'{"n": %d}' % n,
    )


async def test_enqueue_is_idempotent_by_key(outbox: Outbox) -> None:
    """The same key twice is one row."""
    assert await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"a")]) is True
    assert await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"b")]) is False
    stats = await outbox.stats()
    assert stats.events == 1
    assert stats.by_sink_status == {("inter-hub", "pending"): 1}
    [row] = await outbox.deliveries()
    assert row.body == b"a"


async def test_claim_leases_and_due_order(outbox: Outbox) -> None:
    """Claim returns due rows oldest-due first and not again while leased."""
    await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"1", next_attempt_at=5)])
    await outbox.enqueue(_event(2), [NewDelivery("inter-hub", b"2", next_attempt_at=1)])
    await outbox.enqueue(_event(3), [NewDelivery("inter-hub", b"3", next_attempt_at=50)])
    claimed = await outbox.claim("inter-hub", now=10, limit=10, lease_seconds=30)
    assert [d.body for d in claimed] == [b"2", b"1"]
    assert await outbox.claim("inter-hub", now=11, limit=10, lease_seconds=30) == []
    assert await outbox.claim("state-hub", now=11, limit=10, lease_seconds=30) == []
    # Lease expiry makes work claimable again (a worker that died mid-attempt).
    again = await outbox.claim("inter-hub", now=41, limit=10, lease_seconds=30)
    assert sorted(d.body or b"" for d in again) == [b"1", b"2"]


async def test_claim_marks_inter_hub_ambiguous_until_recorded(outbox: Outbox) -> None:
    """A claimed inter-hub delivery is ambiguous (may be in flight) until its result lands."""
    await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
    [claimed] = await outbox.claim("inter-hub", now=1, limit=1, lease_seconds=30)
    assert claimed.ambiguous is False  # as it was before this attempt
    await outbox.reset_leases()  # a crash: restart resets leases
    [again] = await outbox.claim("inter-hub", now=2, limit=1, lease_seconds=30)
    assert again.ambiguous is True
    await outbox.record([Result(again.key, "inter-hub", "delivered")], now=3)
    [row] = await outbox.deliveries()
    assert (row.status, row.ambiguous, row.attempts) == ("delivered", False, 1)


async def test_first_claim_time_is_kept_across_attempts(outbox: Outbox) -> None:
    """A delivery remembers when it was first claimed, through retries and a restart."""
    await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
    [first] = await outbox.claim("inter-hub", now=5, limit=1, lease_seconds=30)
    assert first.first_attempt_at == 5
    await outbox.record([Result(first.key, "inter-hub", "retrying", next_attempt_at=6)], now=6)
    await outbox.reset_leases()
    [again] = await outbox.claim("inter-hub", now=9, limit=1, lease_seconds=30)
    assert again.first_attempt_at == 5
    [row] = await outbox.deliveries()
    assert row.first_attempt_at == 5


async def test_record_retry_and_fallback_atomically(outbox: Outbox) -> None:
    """A result sets status/backoff and can add a fallback delivery in the same step."""
    await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
    [d] = await outbox.claim("inter-hub", now=1, limit=1, lease_seconds=30)
    await outbox.record(
        [
            Result(
                d.key,
                "inter-hub",
                "rejected",
                error="400 bad",
                http_status=400,
                fallback=NewDelivery("state-hub", b"fb", reason="rejected"),
            )
        ],
        now=2,
    )
    rows = {r.sink: r for r in await outbox.deliveries()}
    assert rows["inter-hub"].status == "rejected"
    assert rows["inter-hub"].last_http_status == 400
    assert rows["state-hub"].status == "pending"
    assert rows["state-hub"].body == b"fb"
    assert await outbox.next_due("inter-hub") is None
    assert await outbox.next_due("state-hub") == 0


async def test_record_several_results_in_one_call(outbox: Outbox) -> None:
    """One `record` call applies every result it is given (the dispatcher's group record):
    each row gets its own status and attempt, fallbacks are added, every lease is released."""
    for n in range(3):
        await outbox.enqueue(_event(n), [NewDelivery("inter-hub", b"%d" % n)])
    claimed = await outbox.claim("inter-hub", now=1, limit=3, lease_seconds=30)
    assert len(claimed) == 3
    first, second, third = claimed
    await outbox.record(
        [
            Result(first.key, "inter-hub", "delivered", http_status=201),
            Result(second.key, "inter-hub", "retrying", next_attempt_at=50, error="503"),
            Result(
                third.key,
                "inter-hub",
                "rejected",
                error="400",
                fallback=NewDelivery("state-hub", b"fb", reason="rejected"),
            ),
        ],
        now=2,
    )
    rows = {(r.key, r.sink): r for r in await outbox.deliveries()}
    assert [rows[(d.key, "inter-hub")].status for d in claimed] == [
        "delivered",
        "retrying",
        "rejected",
    ]
    assert all(rows[(d.key, "inter-hub")].attempts == 1 for d in claimed)
    assert rows[(third.key, "state-hub")].status == "pending"
    assert (first.key, "state-hub") not in rows
    # Leases released: the retrying row is claimable at its due time, not at lease end (31).
    [again] = await outbox.claim("inter-hub", now=50, limit=3, lease_seconds=30)
    assert again.key == second.key


async def test_backoff_due_time(outbox: Outbox) -> None:
    """A retrying delivery is not claimable before next_attempt_at."""
    await outbox.enqueue(_event(1), [NewDelivery("state-hub", b"1")])
    [d] = await outbox.claim("state-hub", now=1, limit=1, lease_seconds=30)
    await outbox.record([Result(d.key, "state-hub", "retrying", next_attempt_at=100)], now=2)
    assert await outbox.claim("state-hub", now=99, limit=1, lease_seconds=30) == []
    assert await outbox.next_due("state-hub") == 100
    assert len(await outbox.claim("state-hub", now=100, limit=1, lease_seconds=30)) == 1


async def test_size_cap_refuses_loudly_and_counts(outbox: Outbox) -> None:
    """Beyond max_rows the event is refused with OutboxFullError and counted; nothing lost."""
    for n in range(100):
        await outbox.enqueue(_event(n), [NewDelivery("state-hub", b"x")])
    with pytest.raises(OutboxFullError, match="outbox full"):
        await outbox.enqueue(_event(100), [NewDelivery("state-hub", b"x")])
    stats = await outbox.stats()
    assert (stats.events, stats.refused_full) == (100, 1)


async def test_prune_keeps_undelivered(outbox: Outbox) -> None:
    """Only events whose every delivery is done and old are pruned."""
    await outbox.enqueue(_event(1), [NewDelivery("state-hub", b"1")])
    await outbox.enqueue(_event(2), [NewDelivery("state-hub", b"2")])
    for d in await outbox.claim("state-hub", now=1, limit=10, lease_seconds=30):
        status: Status = "delivered" if d.body == b"1" else "retrying"
        await outbox.record([Result(d.key, "state-hub", status, next_attempt_at=9)], now=2)
    assert await outbox.prune(delivered_before=1) == 0
    assert await outbox.prune(delivered_before=3) == 1
    assert [d.body for d in await outbox.deliveries()] == [b"2"]
    assert (await outbox.stats()).events == 1


async def test_replay_dead(outbox: Outbox) -> None:
    """Replay makes a dead delivery pending and due now, optionally with a new body."""
    await outbox.enqueue(
        _event(1), [NewDelivery("inter-hub", None, status="missing_inter_hub_config")]
    )
    [row] = await outbox.deliveries(status="missing_inter_hub_config")
    assert await outbox.claim("inter-hub", now=1, limit=1, lease_seconds=1) == []
    count = await outbox.replay(
        [(row.key, "inter-hub")], {(row.key, "inter-hub"): (b"new", "w-9")}, now=5
    )
    assert count == 1
    [claimed] = await outbox.claim("inter-hub", now=5, limit=1, lease_seconds=1)
    assert (claimed.body, claimed.widget_id) == (b"new", "w-9")
    assert await outbox.replay([(row.key, "inter-hub")], {}, now=6) == 0  # pending: not final


async def test_own_commits_are_no_change_elsewhere(outbox: Outbox) -> None:
    """Writes through the outbox itself never count as another process's commits."""
    assert await outbox.changed_elsewhere() is False
    await outbox.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
    [claimed] = await outbox.claim("inter-hub", now=1, limit=1, lease_seconds=30)
    await outbox.record([Result(claimed.key, "inter-hub", "dead")], now=2)
    await outbox.replay([(claimed.key, "inter-hub")], {}, now=3)
    assert await outbox.changed_elsewhere() is False


async def test_listing_pages_with_a_cursor(outbox: Outbox) -> None:
    """deliveries() pages in (key, sink) order using the last row as cursor."""
    for n in range(5):
        await outbox.enqueue(_event(n), [NewDelivery("state-hub", b"x")])
    first = await outbox.deliveries(limit=3)
    rest = await outbox.deliveries(limit=3, after=(first[-1].key, first[-1].sink))
    assert len(first) == 3
    assert len(rest) == 2
    assert {d.key for d in first}.isdisjoint({d.key for d in rest})


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    """A committed event is there after close and reopen, with its lease released."""
    path = tmp_path / "o.sqlite3"
    box = SqliteOutbox(path)
    await box.open()
    await box.enqueue(_event(1), [NewDelivery("inter-hub", b"1")])
    await box.claim("inter-hub", now=1, limit=1, lease_seconds=1000)
    await box.close()
    box = SqliteOutbox(path)
    await box.open()
    [row] = await box.claim("inter-hub", now=2, limit=1, lease_seconds=1)
    assert (row.body, row.ambiguous) == (b"1", True)
    assert (await box.event(row.key)) == _event(1)
    await box.close()


# --- lifecycle: what is finished, pruning after the retention, room at the cap --------------

FINAL_INTER_HUB: list[Status] = [
    "delivered",
    "duplicate",
    "rejected",
    "dead",
    "missing_inter_hub_config",
    "missing_widget_mapping",
]


# A State Hub row that landed: its event's evidence is held by a hub.
LANDED = NewDelivery("state-hub", b"fb", "delivered")
# Every way an event can end with no hub holding its evidence.
NOWHERE: list[list[NewDelivery]] = [
    [NewDelivery("inter-hub", None, inter), NewDelivery("state-hub", b"fb", state)]
    for inter in ("missing_inter_hub_config", "missing_widget_mapping", "dead", "rejected")
    for state in ("dead", "rejected")
] + [
    [
        NewDelivery("inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=50),
        NewDelivery("state-hub", b"fb", "dead"),
    ]
]


async def _pre_go_live(outbox: Outbox, n: int, created: float) -> None:
    """An event as before go-live: Inter-Hub row `missing_inter_hub_config`, State Hub due."""
    await outbox.enqueue(
        _event(n, created),
        [
            NewDelivery("inter-hub", None, "missing_inter_hub_config"),
            NewDelivery("state-hub", b"fb"),
        ],
    )


async def _deliver_state_hub(outbox: Outbox, now: float) -> None:
    """Every due State Hub row delivered at `now`."""
    claimed = await outbox.claim("state-hub", now=now, limit=1000, lease_seconds=30)
    await outbox.record([Result(d.key, "state-hub", "delivered") for d in claimed], now=now)


async def _keys(outbox: Outbox) -> set[str]:
    return {d.key for d in await outbox.deliveries(limit=1000)}


async def test_every_final_status_is_pruned_after_the_retention(outbox: Outbox) -> None:
    """Events whose rows are all final (any final status) are kept and replayable within
    the retention and pruned after it; one whose State Hub copy is still due is kept."""
    for n, status in enumerate(FINAL_INTER_HUB):
        await outbox.enqueue(
            _event(n, 1), [NewDelivery("inter-hub", None, status), NewDelivery("state-hub", b"x")]
        )
    await _deliver_state_hub(outbox, now=2)
    await _pre_go_live(outbox, 99, created=1)  # its State Hub copy never delivered
    assert await outbox.prune(delivered_before=2) == 0  # within the retention: all kept
    key = _event(4).key
    assert await outbox.replay([(key, "inter-hub")], {}, now=2) == 1  # still replayable
    await outbox.record([Result(key, "inter-hub", "missing_inter_hub_config")], now=2)
    assert await outbox.prune(delivered_before=3) == len(FINAL_INTER_HUB)
    assert await _keys(outbox) == {_event(99).key}
    assert (await outbox.stats()).events == 1


async def test_a_deferred_event_is_pruned_once_created_before_the_cut_off(outbox: Outbox) -> None:
    """A deferred Inter-Hub row (re-checked hourly, so always freshly updated) with its State
    Hub copy delivered keeps its event for the retention from creation, not beyond."""
    await outbox.enqueue(
        _event(1, 10),
        [
            NewDelivery("inter-hub", b"1", "inter_hub_sink_deferred", next_attempt_at=100),
            NewDelivery("state-hub", b"fb"),
        ],
    )
    await _deliver_state_hub(outbox, now=11)
    [d] = await outbox.claim("inter-hub", now=100, limit=1, lease_seconds=30)
    await outbox.record(
        [Result(d.key, "inter-hub", "inter_hub_sink_deferred", 200, count_attempt=False)],
        now=100,
    )  # a re-check: updated at 100
    assert await outbox.prune(delivered_before=11) == 0  # State Hub copy newer than cut-off
    assert await outbox.prune(delivered_before=12) == 1
    assert (await outbox.stats()).events == 0


async def test_at_the_cap_the_oldest_finished_events_make_room(outbox: Outbox) -> None:
    """A full outbox whose rows are mostly landed and finished accepts a new event by
    deleting the oldest of those, whatever their age; due work is never deleted."""
    await outbox.enqueue(_event(0, 0), [NewDelivery("state-hub", b"due")])
    for n in range(1, 100):
        await outbox.enqueue(_event(n, n), [NewDelivery("inter-hub", None, "rejected"), LANDED])
    assert await outbox.enqueue(_event(100, 100), [NewDelivery("state-hub", b"new")]) is True
    stats = await outbox.stats()
    assert stats.refused_full == 0
    assert stats.events <= 100
    keys = await _keys(outbox)
    assert {_event(0).key, _event(100).key, _event(99).key} <= keys
    assert _event(1).key not in keys  # the oldest finished one went first


async def test_at_the_cap_finished_events_go_before_deferred_ones(outbox: Outbox) -> None:
    """Room is made from landed finished events first; landed deferred-only events
    (evidence on State Hub) give way only when no landed finished event is left."""
    deferred = [NewDelivery("inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=50)]
    for n in range(50):
        await outbox.enqueue(_event(n, n), [*deferred, LANDED])
    for n in range(50, 100):
        await outbox.enqueue(_event(n, n), [NewDelivery("inter-hub", None, "dead"), LANDED])
    # Each new (due) event at the cap frees one: the 50 finished go first, oldest first.
    for n in range(100, 150):
        assert await outbox.enqueue(_event(n, n), [NewDelivery("state-hub", b"new")]) is True
    keys = await _keys(outbox)
    assert set(range(50)) == {n for n in range(150) if _event(n).key in keys} - set(range(100, 150))
    # Only deferred and due events are left: the oldest deferred one gives way.
    assert await outbox.enqueue(_event(150, 150), [NewDelivery("state-hub", b"new")]) is True
    keys = await _keys(outbox)
    assert _event(0).key not in keys
    assert _event(1).key in keys
    assert (await outbox.stats()).refused_full == 0


async def test_at_the_cap_evidence_that_landed_nowhere_is_never_deleted(outbox: Outbox) -> None:
    """An outbox full of finished (or deferred) events that no hub holds refuses a new
    event, counted, rather than deleting evidence to make room."""
    for n in range(100):
        await outbox.enqueue(_event(n, n), NOWHERE[n % len(NOWHERE)])
    with pytest.raises(OutboxFullError, match="reached no hub"):
        await outbox.enqueue(_event(100, 100), [NewDelivery("state-hub", b"x")])
    stats = await outbox.stats()
    assert (stats.events, stats.refused_full) == (100, 1)
    assert await _keys(outbox) == {_event(n).key for n in range(100)}


async def test_at_the_cap_only_landed_events_make_room(outbox: Outbox) -> None:
    """At the cap the oldest landed event gives way, though older events that landed
    nowhere exist; those stay for the retention."""
    for n in range(60):
        await outbox.enqueue(_event(n, n), NOWHERE[n % len(NOWHERE)])
    for n in range(60, 100):
        await outbox.enqueue(_event(n, n), [NewDelivery("inter-hub", None, "rejected"), LANDED])
    assert await outbox.enqueue(_event(100, 100), [NewDelivery("state-hub", b"x")]) is True
    keys = await _keys(outbox)
    assert {_event(n).key for n in range(60)} <= keys
    assert _event(60).key not in keys
    assert (await outbox.stats()).refused_full == 0


async def test_evidence_that_landed_nowhere_is_pruned_after_the_retention(outbox: Outbox) -> None:
    """Events no hub holds stay within the retention (to replay) and are pruned after it."""
    for n, rows in enumerate(NOWHERE):
        await outbox.enqueue(_event(n, 1), rows)
    assert await outbox.prune(delivered_before=1) == 0
    assert await outbox.prune(delivered_before=2) == len(NOWHERE)
    assert (await outbox.stats()).events == 0


async def test_full_of_due_work_refuses_until_an_event_finishes(outbox: Outbox) -> None:
    """Only due rows filling the outbox refuse new evidence; once one event is delivered,
    the next event is accepted again."""
    for n in range(100):
        await outbox.enqueue(_event(n, n), [NewDelivery("state-hub", b"x")])
    for attempt in (100, 101):
        with pytest.raises(OutboxFullError, match="outbox full"):
            await outbox.enqueue(_event(attempt, attempt), [NewDelivery("state-hub", b"x")])
    [first] = await outbox.claim("state-hub", now=1, limit=1, lease_seconds=30)
    await outbox.record([Result(first.key, "state-hub", "delivered")], now=2)
    assert await outbox.enqueue(_event(102, 102), [NewDelivery("state-hub", b"x")]) is True
    stats = await outbox.stats()
    assert (stats.events, stats.refused_full) == (100, 2)
    assert first.key not in await _keys(outbox)


async def test_oldest_pending_leaves_deferred_rows_out(outbox: Outbox) -> None:
    """The oldest-pending time covers rows due to be attempted (pending, retrying) only;
    the backlog counts pending, retrying and deferred rows apart."""
    later = NewDelivery("inter-hub", b"d", "inter_hub_sink_deferred", next_attempt_at=3600)
    await outbox.enqueue(_event(1, 5), [later])
    assert (await outbox.stats()).oldest_pending_at is None
    await outbox.enqueue(_event(2, 7), [NewDelivery("state-hub", b"p")])
    await outbox.enqueue(_event(3, 9), [NewDelivery("state-hub", b"r")])
    [d, _] = await outbox.claim("state-hub", now=10, limit=2, lease_seconds=30)
    await outbox.record([Result(d.key, "state-hub", "retrying", next_attempt_at=20)], now=10)
    stats = await outbox.stats()
    assert stats.oldest_pending_at == 7
    assert stats.backlog() == {
        "inter-hub": {"pending": 0, "retrying": 0, "inter_hub_sink_deferred": 1},
        "state-hub": {"pending": 1, "retrying": 1, "inter_hub_sink_deferred": 0},
    }


def test_every_status_is_due_deferred_or_final() -> None:
    """Each delivery status has exactly one lifecycle class (a new status must pick one)."""
    classes = [DUE, {DEFERRED}, FINAL]
    for status in get_args(Status):
        assert sum(status in c for c in classes) == 1, status
