"""`ops-restore-tested`: planned only for backups declaring `restore:`, on the drill's own
schedule; a drill of a real restic or borg repository is an event with the snapshot, its
age (RPO), the duration (RTO), what was restored and `scratch_removed`, and no secret; drills
never overlap."""

from __future__ import annotations

import gzip
import io
import itertools
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from ops_evidence.checks.restore import drill as drill_module
from ops_evidence.checks.restore.scratch import DrillPlace
from ops_evidence.events.types import RestoreTested
from ops_evidence.logging import configure_logging
from ops_evidence.probes import ProbeContext, ProbeTarget, find_target, plan, run_probe
from ops_evidence.schedule.emission_state import SqliteProbeState
from ops_evidence.schedule.probe_jobs import build_jobs
from ops_evidence.schedule.runner import Scheduler
from tests import backup_tools
from tests.probes.inventories import inventory

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def files_backup(backup_id: str, folder: Path, **restore: Any) -> dict[str, Any]:
    """A files backup of `folder`, with a drill when `restore` settings are given."""
    spec: dict[str, Any] = {
        "id": backup_id,
        "environment": "local",
        "store": "db",
        "check": {"kind": "files", "path": str(folder), "pattern": "*.gz"},
    }
    return {**spec, "restore": restore} if restore else spec


def test_only_backups_declaring_a_drill_are_planned(tmp_path: Path) -> None:
    """A backup without `restore:` gets no drill target; one with it gets `restore:<id>` on
    the drill's schedule (7 days and 30 minutes unless declared), not the backup's."""
    inv = inventory(
        backups=[
            files_backup("plain", tmp_path),
            {**files_backup("weekly", tmp_path, max_size="1GiB"), "interval": "1m"},
            files_backup("daily", tmp_path, interval="1d", timeout="5m"),
        ]
    )
    drills = {t.entity_id: t for t in plan(inv) if t.event_type == "ops-restore-tested"}
    assert sorted(drills) == ["daily", "weekly"]
    assert (drills["weekly"].interval, drills["weekly"].timeout) == (
        timedelta(days=7),
        timedelta(minutes=30),
    )
    assert (drills["daily"].interval, drills["daily"].timeout) == (
        timedelta(days=1),
        timedelta(minutes=5),
    )
    assert drills["daily"].context_key == "restore:daily"
    backups = [t.entity_id for t in plan(inv) if t.event_type == "ops-backup-verified"]
    assert backups == ["plain", "weekly", "daily"]


async def drill_event(inv: Any, key: str, state_dir: Path) -> RestoreTested:
    """Run the planned drill of `key` with `state_dir` as the state directory."""
    target = find_target(inv, key)
    assert target is not None
    event = await run_probe(ProbeContext(inv, state_dir=state_dir), target)
    assert isinstance(event, RestoreTested)
    return event


def written(folder: Path) -> str:
    """Every file's text under `folder`."""
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


async def test_restic_drill_event(
    restic_fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drill of a real restic repository (password by env) is verified, names the
    snapshot (kept through redaction), its age and the duration, counts what it restored,
    leaves nothing under `<state dir>/restore-scratch`, and no canary anywhere."""
    monkeypatch.setenv("RESTIC_PW", backup_tools.RESTIC_PASSWORD)
    check = {"kind": "restic", "repository": str(restic_fresh), "password": {"env": "RESTIC_PW"}}
    spec = {"id": "r", "environment": "local", "store": "db", "check": check, "restore": {}}
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    event = await drill_event(inventory(backups=[spec]), "restore:r", tmp_path)
    attrs = event.attributes
    assert attrs.verified, attrs.message
    assert attrs.snapshot_id is not None
    assert len(attrs.snapshot_id) == 64
    assert attrs.tool_version is not None
    assert attrs.tool_version.startswith("0.")
    assert (attrs.files_restored, attrs.bytes_restored) == (1, 900)
    assert attrs.rpo_seconds is not None
    assert 0 <= attrs.rpo_seconds < 3600
    assert attrs.duration_seconds is not None
    assert attrs.scratch_removed
    assert list((tmp_path / "restore-scratch").iterdir()) == []
    text = event.model_dump_json() + stream.getvalue()
    assert backup_tools.RESTIC_PASSWORD not in text
    assert backup_tools.RESTIC_PASSWORD not in written(tmp_path)


async def test_borg_wrong_passphrase_event(
    borg_fresh: Path, borg_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drill with a wrong passphrase is a failed event (`auth_failed`), scratch removed,
    neither the wrong nor the right passphrase in it or the logs."""
    wrong = "canary-Wrong-Passphr4se-77ef"
    monkeypatch.setenv("BORG_PW", wrong)
    check = {"kind": "borg", "repository": str(borg_fresh), "passphrase": {"env": "BORG_PW"}}
    spec = {"id": "g", "environment": "local", "store": "db", "check": check, "restore": {}}
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    event = await drill_event(inventory(backups=[spec]), "restore:g", tmp_path)
    assert (event.attributes.verified, event.attributes.reason) == (False, "auth_failed")
    assert event.attributes.scratch_removed
    text = event.model_dump_json() + stream.getvalue()
    for canary in (wrong, backup_tools.BORG_PASSPHRASE):
        assert canary not in text


async def test_drills_never_overlap_and_waiting_is_not_their_time(tmp_path: Path) -> None:
    """Four drills started together run one after the other (each command records its start
    and end; no two spans intersect), and all four pass within their own 2.5 s timeout
    although the last waits about 4.5 s for its turn: the wait is not charged to it."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.gz").write_bytes(gzip.compress(b"ok\n"))
    spans = tmp_path / "spans"
    script = (
        "import sys, time; f = open(sys.argv[1], 'a'); f.write(f'{time.monotonic()} ');"
        " time.sleep(1.5); f.write(f'{time.monotonic()}\\n')"
    )
    command = [sys.executable, "-c", script, str(spans)]
    names = ("one", "two", "three", "four")
    inv = inventory(
        backups=[files_backup(n, folder, command=command, timeout="2500ms") for n in names]
    )
    ctx = ProbeContext(inv, state_dir=tmp_path)
    targets = [t for t in plan(inv) if t.event_type == "ops-restore-tested"]
    events = []

    async def one(target: ProbeTarget) -> None:
        events.append(await run_probe(ctx, target))

    async with anyio.create_task_group() as tg:
        for target in targets:
            tg.start_soon(one, target)
    assert [e.attributes.reason for e in events] == [None] * 4
    rows = sorted(tuple(map(float, line.split())) for line in spans.read_text().splitlines())
    assert len(rows) == 4
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(rows))


async def test_a_folder_that_stays_fails_the_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scratch_removed` reports the removal's outcome: when the folder is still there
    afterwards (a removal that did nothing), the event says so and the drill fails."""

    async def keep(_place: DrillPlace) -> bool:
        return False  # what remove_place reports when the folder is still there

    monkeypatch.setattr(drill_module, "remove_place", keep)
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.gz").write_bytes(gzip.compress(b"ok\n"))
    inv = inventory(backups=[files_backup("kept", folder, max_size="1MiB")])
    event = await drill_event(inv, "restore:kept", tmp_path)
    assert (event.attributes.verified, event.attributes.reason) == (False, "scratch_not_removed")
    assert event.attributes.scratch_removed is False


async def test_rpo_is_the_backup_age_when_the_drill_started(tmp_path: Path) -> None:
    """`rpo_seconds` is the restored file's age at the drill's start: a clock that moves a
    day on while the drill runs does not add that day."""
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.gz").write_bytes(gzip.compress(b"ok\n"))
    os.utime(folder / "a.gz", (start.timestamp() - 60, start.timestamp() - 60))
    ran = tmp_path / "ran"
    command = [sys.executable, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()"]
    inv = inventory(backups=[files_backup("aged", folder, command=[*command, str(ran)])])

    def clock() -> datetime:
        return start + timedelta(days=1) if ran.exists() else start

    target = find_target(inv, "restore:aged")
    assert target is not None
    event = await run_probe(ProbeContext(inv, state_dir=tmp_path, now=clock), target)
    assert isinstance(event, RestoreTested)
    assert event.attributes.verified, event.attributes.message
    assert event.attributes.rpo_seconds == 60.0


async def test_a_restart_recalls_the_last_drill_instead_of_drilling_again(tmp_path: Path) -> None:
    """A drill's event is kept in the probe state: a service restarted on that state has the
    drill's observation (the gates read it) and plans its next drill an interval after the
    last, not within the first minute of the start."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.gz").write_bytes(gzip.compress(b"ok\n"))
    inv = inventory(backups=[files_backup("dumps", folder, max_size="1MiB")])
    state = SqliteProbeState(tmp_path / "state" / "probe-state.sqlite3")

    async def submit(event: Any, job: Any) -> bool:
        return True

    first_ctx = ProbeContext(inv, state_dir=tmp_path)
    first = Scheduler(build_jobs(inv, first_ctx), submit, state)
    await first.load_state()
    await first.run_once()
    drilled = first_ctx.observations.latest("restore:dumps")
    assert isinstance(drilled, RestoreTested)
    assert drilled.attributes.verified
    await state.close()

    again = SqliteProbeState(tmp_path / "state" / "probe-state.sqlite3")
    second_ctx = ProbeContext(inv, state_dir=tmp_path)
    second = Scheduler(build_jobs(inv, second_ctx), submit, again)
    await second.load_state()
    await again.close()
    recalled = second_ctx.observations.latest("restore:dumps")
    assert recalled == drilled
