"""Restore drills (`checks.restore.drill.run_drill`) against real restic, borg and pgBackRest
repositories and real backup files: a good backup passes with its files and bytes counted,
a damaged one or a wrong password fails with the reason, the size limit and the timeout
fail the drill, and the drill folder is gone after every one of them."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ops_evidence.checks.restore import drill as drill_module
from ops_evidence.checks.restore.base import RestoreResult, compare_checksums, reserve
from ops_evidence.checks.restore.drill import DrillOutcome, run_drill
from ops_evidence.checks.restore.pgbackrest import restore_argv
from ops_evidence.checks.restore.scratch import (
    MARKER,
    PREFIX,
    STAGING,
    own_identity,
    remove_folder,
    start_time,
    sweep,
)
from ops_evidence.inventory.checks import BackupCheck, PgBackRestBackup
from ops_evidence.inventory.models import Backup
from ops_evidence.inventory.restore import RestoreDrill
from tests import backup_tools
from tests.support import require_tool

pytestmark = [pytest.mark.anyio, pytest.mark.integration]
NOBODY = 65534
DATA_BYTES = len("evidence\n" * 100)


def backup(check: dict[str, Any], **restore: Any) -> Backup:
    """A backup with a drill, validated as the inventory loader would."""
    spec = {"id": "b", "environment": "local", "store": "db", "check": check, "restore": restore}
    return Backup.model_validate(spec)


async def drill(item: Backup, root: Path, budget: float = 60) -> DrillOutcome:
    """Run the backup's drill under `root`."""
    assert item.restore is not None
    return await run_drill(item.check, item.restore, root, "b-run1", budget)


def leftovers(root: Path) -> list[Path]:
    """Drill folders still under `root`."""
    return sorted(root.glob(f"{PREFIX}*")) if root.exists() else []


def socket_folders() -> list[Path]:
    """The PostgreSQL drill's private socket folders left in the temp folder."""
    return list(Path(tempfile.gettempdir()).glob("oe-pg-*"))


def corrupt(path: Path) -> None:
    """Flip bytes through the file (a damaged pack or segment)."""
    data = bytearray(path.read_bytes())
    for i in range(min(64, len(data) // 2), len(data) - 4, 97):
        data[i] ^= 0xFF
    path.write_bytes(data)


@pytest.fixture
def restic_repo(tmp_path: Path) -> Path:
    """A fresh restic repository for one test (some tests damage it)."""
    binary = require_tool("restic")
    (tmp_path / "src").mkdir()
    return backup_tools.restic_repo(tmp_path / "src", binary, when=None)


@pytest.fixture
def borg_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh borg repository for one test, borg's state in the test's folder."""
    binary = require_tool("borg", "borgbackup")
    (tmp_path / "src").mkdir()
    monkeypatch.setenv("BORG_BASE_DIR", str(tmp_path / "src" / "borg-base"))
    return backup_tools.borg_repo(tmp_path / "src", binary, when=None)


@pytest.fixture
def scratch_in_tmp() -> Iterator[Path]:
    """A scratch root the `postgres` user can reach (pytest's own temp folder is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="oe-scratch-", dir="/tmp"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def restic_check(repo: Path, password_file: Path | None = None) -> dict[str, Any]:
    """restic settings, the password by file."""
    password = password_file or repo.parent / "password"
    return {"kind": "restic", "repository": str(repo), "password": {"file": str(password)}}


def borg_check(repo: Path, env: str = "BORG_PW") -> dict[str, Any]:
    """borg settings, the passphrase by variable."""
    return {"kind": "borg", "repository": str(repo), "passphrase": {"env": env}}


async def test_restic_good_snapshot_passes(restic_repo: Path, tmp_path: Path) -> None:
    """The newest snapshot is restored and verified, its one file and bytes counted, a
    sampled checksum matches the source, `check --read-data-subset` passes, scratch is gone."""
    source = restic_repo.parent / "data" / "file.txt"
    item = backup(
        restic_check(restic_repo), verify_checksums=[str(source)], read_data_subset="100%"
    )
    outcome = await drill(item, tmp_path / "scratch")
    result = outcome.result
    assert result.failure is None, result.failure
    assert (result.files_restored, result.bytes_restored) == (1, DATA_BYTES)
    assert result.snapshot_id is not None
    assert result.tool_version is not None
    assert [(c.path, c.matched) for c in result.checksums] == [(str(source), True)]
    assert result.check_result is not None
    assert "read-data-subset=100%" in result.check_result
    assert outcome.scratch_removed
    assert leftovers(tmp_path / "scratch") == []


async def test_a_restored_symlink_out_of_the_restore_is_not_a_match(tmp_path: Path) -> None:
    """A sampled file whose restored copy is a link to the live file (an absolute path) is
    not matched: it would compare the live file with itself."""
    live = tmp_path / "live" / "file.txt"
    live.parent.mkdir()
    live.write_text("evidence\n")
    target = tmp_path / "restore"
    copy = target / live.relative_to("/")
    copy.parent.mkdir(parents=True)
    copy.symlink_to(live)
    [checksum] = await compare_checksums([live], target)
    assert (checksum.matched, checksum.detail) == (False, "outside the restore (symlink)")
    copy.unlink()
    copy.write_text("evidence\n")
    [checksum] = await compare_checksums([live], target)
    assert (checksum.matched, checksum.detail) == (True, None)


async def test_restic_damaged_pack_fails(restic_repo: Path, tmp_path: Path) -> None:
    """A corrupted pack under repo/data/ fails the restore with restic's reason."""
    for pack in (restic_repo / "data").rglob("*"):
        if pack.is_file():
            corrupt(pack)
    outcome = await drill(backup(restic_check(restic_repo)), tmp_path / "scratch")
    failure = outcome.result.failure
    assert failure is not None
    assert failure.reason == "restore_failed"
    assert "restic exited" in failure.message
    assert outcome.scratch_removed
    assert leftovers(tmp_path / "scratch") == []


async def test_restic_wrong_password_fails(restic_repo: Path, tmp_path: Path) -> None:
    """A wrong password is `auth_failed`, and nothing is left in scratch."""
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    outcome = await drill(backup(restic_check(restic_repo, wrong)), tmp_path / "scratch")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "auth_failed"
    assert leftovers(tmp_path / "scratch") == []


async def test_restic_over_max_size_is_refused_before(restic_repo: Path, tmp_path: Path) -> None:
    """restic's restore size over `max_size` fails before anything is restored."""
    outcome = await drill(backup(restic_check(restic_repo), max_size=100), tmp_path / "scratch")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "over_max_size"
    assert "scratch over max_size" in outcome.result.failure.message
    assert outcome.result.files_restored is None
    assert leftovers(tmp_path / "scratch") == []


async def test_borg_good_archive_passes(
    borg_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest archive is extracted into scratch, its file and bytes counted (equal to
    the archive's original size), a sampled checksum matches, scratch is gone."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    source = borg_repo.parent / "data" / "file.txt"
    outcome = await drill(
        backup(borg_check(borg_repo), verify_checksums=[str(source)]), tmp_path / "s"
    )
    result = outcome.result
    assert result.failure is None, result.failure
    assert (result.files_restored, result.bytes_restored) == (1, DATA_BYTES)
    assert (result.archive_name, len(result.checksums)) == ("one", 1)
    assert result.checksums[0].matched
    assert outcome.scratch_removed
    assert leftovers(tmp_path / "s") == []


async def test_borg_hard_linked_file_counts_its_bytes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file hard-linked twice in the archive is two restored files but its bytes once, as
    borg's original size counts it: the restore is complete."""
    binary = require_tool("borg", "borgbackup")
    data = tmp_path / "src" / "data"
    data.mkdir(parents=True)
    (data / "file.txt").write_text("evidence\n" * 100)
    os.link(data / "file.txt", data / "twin.txt")
    monkeypatch.setenv("BORG_BASE_DIR", str(tmp_path / "src" / "borg-base"))
    repo = backup_tools.borg_repo(tmp_path / "src", binary, when=None)
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    outcome = await drill(backup(borg_check(repo)), tmp_path / "s")
    result = outcome.result
    assert result.failure is None, result.failure
    assert (result.files_restored, result.bytes_restored) == (2, DATA_BYTES)


async def test_borg_dry_run_restores_nothing(
    borg_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dry_run: true` reads the archive without writing files."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    outcome = await drill(backup(borg_check(borg_repo), dry_run=True), tmp_path / "s")
    assert outcome.result.failure is None, outcome.result.failure
    assert outcome.result.files_restored is None
    assert outcome.result.check_result is not None
    assert "--dry-run" in outcome.result.check_result


async def test_borg_damaged_segment_fails(
    borg_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupted segment under repo/data/0/ fails with borg's integrity error."""
    monkeypatch.setenv("BORG_PW", backup_tools.BORG_PASSPHRASE)
    for segment in (borg_repo / "data" / "0").iterdir():
        if segment.stat().st_size > 100:
            corrupt(segment)
    outcome = await drill(backup(borg_check(borg_repo)), tmp_path / "s")
    failure = outcome.result.failure
    assert failure is not None
    assert failure.reason == "restore_failed"
    assert "integrity" in failure.message.lower(), failure.message
    assert leftovers(tmp_path / "s") == []


async def test_borg_wrong_passphrase_fails(
    borg_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong passphrase is `auth_failed`."""
    monkeypatch.setenv("BORG_PW", "not-the-passphrase")
    outcome = await drill(backup(borg_check(borg_repo)), tmp_path / "s")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "auth_failed"
    assert leftovers(tmp_path / "s") == []


async def test_pgbackrest_verify_passes(
    pgbackrest: backup_tools.PgBackRest, tmp_path: Path
) -> None:
    """`pgbackrest verify` of a throwaway PostgreSQL's repository passes, with the label."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    outcome = await drill(backup(check), tmp_path / "s", budget=120)
    result = outcome.result
    assert result.failure is None, result.failure
    assert result.archive_name is not None
    assert result.archive_name.endswith("F")  # a full backup's label
    assert result.check_result is not None
    assert result.check_result.startswith("verify")
    assert leftovers(tmp_path / "s") == []


def files_check(folder: Path, pattern: str = "*.gz") -> dict[str, Any]:
    """A files backup in `folder`."""
    return {"kind": "files", "path": str(folder), "pattern": pattern}


async def test_files_gzip_and_command(tmp_path: Path) -> None:
    """The newest gzip file is copied into scratch, tested with `gzip -t`, and a declared
    command runs on the copy."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.sql.gz").write_bytes(gzip.compress(b"select 1;\n" * 50))
    gzip_bin = require_tool("gzip")
    item = backup(files_check(folder), command=[gzip_bin, "-t"])
    outcome = await drill(item, tmp_path / "s")
    assert outcome.result.failure is None, outcome.result.failure
    assert outcome.result.archive_name == "a.sql.gz"
    assert outcome.result.check_result is not None
    assert outcome.result.check_result == f"gzip -t: ok; {gzip_bin}: exit 0"
    assert leftovers(tmp_path / "s") == []


async def test_files_truncated_gzip_fails(tmp_path: Path) -> None:
    """A truncated gzip file fails the integrity test."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.sql.gz").write_bytes(gzip.compress(b"x" * 5000)[:-12])
    outcome = await drill(backup(files_check(folder)), tmp_path / "s")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "integrity_failed"


async def test_files_gzip_inflating_past_max_size_passes(tmp_path: Path) -> None:
    """A small gzip file that inflates far past `max_size` passes: only the copy takes
    space in scratch (nothing decompressed is written)."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.sql.gz").write_bytes(gzip.compress(b"\0" * 4_000_000))
    outcome = await drill(backup(files_check(folder), max_size="1MiB"), tmp_path / "s")
    assert outcome.result.failure is None, outcome.result.failure
    assert outcome.result.check_result == "gzip -t: ok"


async def test_files_zstd(tmp_path: Path) -> None:
    """A zstd file passes `zstd -t`; a damaged one fails it."""
    zstd = require_tool("zstd")
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "raw").write_bytes(b"row\n" * 1000)
    await anyio.run_process([zstd, "-q", str(folder / "raw"), "-o", str(folder / "a.zst")])
    outcome = await drill(backup(files_check(folder, "*.zst")), tmp_path / "s")
    assert outcome.result.failure is None, outcome.result.failure
    corrupt(folder / "a.zst")
    outcome = await drill(backup(files_check(folder, "*.zst")), tmp_path / "s")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "integrity_failed"


def slow_command() -> list[str]:
    """A declared command that runs until killed."""
    return [sys.executable, "-c", "import time; time.sleep(120)"]


def dumps(tmp_path: Path) -> Path:
    """A folder with one good gzip dump."""
    folder = tmp_path / "dumps"
    folder.mkdir(exist_ok=True)
    (folder / "a.sql.gz").write_bytes(gzip.compress(b"ok\n"))
    return folder


async def test_timeout_fails_and_removes_scratch(tmp_path: Path) -> None:
    """A drill past its timeout fails as `timeout`, and its folder is removed."""
    item = backup(files_check(dumps(tmp_path)), command=slow_command())
    outcome = await drill(item, tmp_path / "s", budget=1)
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "timeout"
    assert outcome.scratch_removed
    assert leftovers(tmp_path / "s") == []


async def test_cancellation_removes_scratch(tmp_path: Path) -> None:
    """A drill cancelled mid-restore (the service shutting down) still removes its folder."""
    item = backup(files_check(dumps(tmp_path)), command=slow_command())
    root = tmp_path / "s"
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drill, item, root, 60.0)
            with anyio.fail_after(30):
                while not leftovers(root):  # noqa: ASYNC110 - polls the disk, with a deadline
                    await anyio.sleep(0.02)
            scope.cancel()
    assert scope.cancelled_caught
    assert leftovers(root) == []


async def test_growth_past_max_size_is_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore that keeps writing past `max_size` is cancelled by the watcher with the
    reason, and the folder is removed (a restorer that writes and never returns)."""

    async def flood(
        _check: BackupCheck, _drill: RestoreDrill, target: Path, _t: float
    ) -> RestoreResult:
        (target / "big").write_bytes(b"\0" * 4096)
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    monkeypatch.setitem(drill_module.RESTORERS, "files", flood)
    outcome = await drill(backup(files_check(dumps(tmp_path)), max_size=1024), tmp_path / "s")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "over_max_size"
    assert "scratch over max_size" in outcome.result.failure.message
    assert leftovers(tmp_path / "s") == []


async def test_growth_found_when_the_restorer_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore that writes past `max_size` and returns before the watcher's next poll is
    still `over_max_size`: the folder is measured once more after the restorer."""

    async def burst(
        _check: BackupCheck, _drill: RestoreDrill, target: Path, _t: float
    ) -> RestoreResult:
        (target / "big").write_bytes(b"\0" * 4096)  # no await: the watcher never polls
        return RestoreResult()

    monkeypatch.setitem(drill_module.RESTORERS, "files", burst)
    outcome = await drill(backup(files_check(dumps(tmp_path)), max_size=1024), tmp_path / "s")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "over_max_size"
    assert leftovers(tmp_path / "s") == []


def test_the_free_space_reserve() -> None:
    """A restore must leave 256 MiB free, or 5% of a volume smaller than 5 GiB."""
    assert reserve(100 * 2**20) == 5 * 2**20
    assert reserve(2**40) == 256 * 2**20


async def test_a_restore_larger_than_the_free_space_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup that fits `max_size` but not the scratch volume's free space less the
    reserve fails as `no_space` before it is copied; one that fits passes."""
    folder = dumps(tmp_path)
    size = (folder / "a.sql.gz").stat().st_size
    total = 2**40
    free = [size + reserve(total) - 1]

    def usage(_path: object) -> shutil._ntuple_diskusage:
        return shutil._ntuple_diskusage(total, total - free[0], free[0])

    monkeypatch.setattr(shutil, "disk_usage", usage)
    outcome = await drill(backup(files_check(folder)), tmp_path / "s")
    failure = outcome.result.failure
    assert failure is not None
    assert failure.reason == "no_space"
    assert f"restore is {size} bytes" in failure.message
    assert outcome.result.files_restored is None
    free[0] += 1
    outcome = await drill(backup(files_check(folder)), tmp_path / "s")
    assert outcome.result.failure is None, outcome.result.failure


async def test_default_scratch_inside_a_live_path_is_refused(tmp_path: Path) -> None:
    """A scratch root inside the backup folder is refused at drill time too (the default,
    under the state dir, cannot be checked when the inventory loads); nothing is made."""
    folder = dumps(tmp_path)
    outcome = await drill(backup(files_check(folder)), folder / "scratch")
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "unsafe_scratch"
    assert not (folder / "scratch").exists()


def marked(root: Path, name: str, pid: int, started: str | None) -> Path:
    """A drill folder under `root` whose marker names `pid` and its start time."""
    folder = root / f"{PREFIX}{name}"
    (folder / "restore").mkdir(parents=True)
    (folder / MARKER).write_text(f"{pid} {started}\n")
    return folder


def test_sweep_removes_only_abandoned_marked_folders(tmp_path: Path) -> None:
    """The start-up sweep removes a marked folder whose process is gone, one of our own pid
    with another start time (pid 1 of a restarted container), and a staging folder of a
    dead process; it keeps an unmarked folder, our own live drill's and a live other
    process's."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid, started = own_identity()
        assert start_time(other.pid) is not None
        marked(tmp_path, "dead", dead.pid, "1")
        marked(tmp_path, "restarted", pid, str(int(started) - 1))
        marked(tmp_path, "alive", pid, started)
        marked(tmp_path, "other", other.pid, start_time(other.pid))
        (tmp_path / f"{STAGING}{dead.pid}-1-b-run1" / "restore").mkdir(parents=True)
        (tmp_path / f"{PREFIX}unmarked").mkdir()
        assert sweep(tmp_path) == [
            tmp_path / f"{STAGING}{dead.pid}-1-b-run1",
            tmp_path / f"{PREFIX}dead",
            tmp_path / f"{PREFIX}restarted",
        ]
    finally:
        other.kill()
        other.wait()
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [f"{PREFIX}{name}" for name in ("alive", "other", "unmarked")]


async def test_a_drill_folder_is_marked_with_pid_and_start_time(tmp_path: Path) -> None:
    """A drill's folder appears under its drill name already marked (pid and start time),
    and no staging folder remains beside it."""
    seen: list[str] = []

    async def look(_c: BackupCheck, _d: RestoreDrill, target: Path, _t: float) -> RestoreResult:
        seen.append((target.parent / MARKER).read_text())
        seen.extend(p.name for p in target.parent.parent.iterdir())
        return RestoreResult()

    item = backup(files_check(dumps(tmp_path)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(drill_module.RESTORERS, "files", look)
        await drill(item, tmp_path / "s")
    pid, started = own_identity()
    assert seen == [f"{pid} {started}\n", f"{PREFIX}b-run1"]


def as_unprivileged(action: Callable[[], bool]) -> bool:
    """`action()` as an unprivileged user: root reads and empties any folder whatever its
    mode, so under root it runs in a forked child that became `nobody` first."""
    if os.geteuid() != 0:
        return action()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports by its exit status
        try:
            signal.alarm(30)  # a child stuck on a lock a thread held at fork dies, not hangs
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os._exit(0 if action() else 1)
        except BaseException:  # noqa: BLE001 - the child must exit, never return to pytest
            os._exit(2)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) in (0, 1), "the action raised"
    return os.waitstatus_to_exitcode(status) == 0


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged child can reach and own (pytest's temp folder is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="oe-modes-", dir="/tmp"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(root, NOBODY, NOBODY)
    yield root
    subprocess.run(["chmod", "-R", "u+rwx", str(root)], check=False)
    shutil.rmtree(root, ignore_errors=True)


def locked_drill_folder(root: Path) -> Path:
    """A drill folder whose restore holds a 0o000 folder and a 0o300 (no read) folder, each
    with a file and a subfolder inside, owned by the unprivileged user under root."""
    folder = root / f"{PREFIX}locked"
    for mode_name in ("none", "wx"):
        inner = folder / "restore" / mode_name
        (inner / "sub").mkdir(parents=True)
        (inner / "sub" / "file").write_text("row\n")
        (inner / "file").write_text("row\n")
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
    (folder / "restore" / "none" / "sub").chmod(0o000)
    (folder / "restore" / "none").chmod(0o000)
    (folder / "restore" / "wx").chmod(0o300)
    return folder


def test_restored_folders_without_read_or_any_permission_are_removed(shared_tmp: Path) -> None:
    """A restored 0o000 folder and a 0o300 folder (write and search, no read) do not stop
    the removal: the drill folder is gone."""
    folder = locked_drill_folder(shared_tmp)
    assert as_unprivileged(lambda: remove_folder(folder))
    assert not folder.exists()


def test_a_folder_that_cannot_be_removed_is_reported_not_raised(shared_tmp: Path) -> None:
    """A drill folder the process may not remove (its parent is not writable to it) is
    reported as not removed, and neither the removal nor the sweep raises."""
    parent = shared_tmp / "readonly"
    parent.mkdir(mode=0o755)
    folder = locked_drill_folder(parent)
    (folder / MARKER).write_text("1 0\n")  # pid 1 that started at another time: abandoned
    if os.geteuid() != 0:
        parent.chmod(0o555)
    assert not as_unprivileged(lambda: remove_folder(folder) or bool(sweep(parent)))
    assert folder.exists()


async def test_pgbackrest_restore_and_sanity_query(
    pgbackrest: backup_tools.PgBackRest, scratch_in_tmp: Path
) -> None:
    """With a sanity query, the newest backup is restored into scratch (as `postgres` when
    root), the server started on a private socket answers the query, and scratch is gone."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    item = backup(check, sanity_query="select datname from pg_database", run_as="postgres")
    outcome = await drill(item, scratch_in_tmp, budget=180)
    result = outcome.result
    assert result.failure is None, result.failure
    assert result.files_restored is not None
    assert result.files_restored > 100  # a whole data directory
    assert result.check_result is not None
    assert "sanity query: 3 rows" in result.check_result  # postgres, template0, template1
    assert outcome.scratch_removed
    assert socket_folders() == []
    assert leftovers(scratch_in_tmp) == []


def test_pgbackrest_restore_maps_every_tablespace_into_the_drill_folder(tmp_path: Path) -> None:
    """The restore's argv always maps all tablespaces into `<drill folder>/tablespaces`."""
    check = backup({"kind": "pgbackrest", "stanza": "demo"}).check
    assert isinstance(check, PgBackRestBackup)
    argv = restore_argv(check, tmp_path / "drill" / "restore", "20260101-000000F")
    assert f"--tablespace-map-all={tmp_path / 'drill' / 'tablespaces'}" in argv
    assert f"--pg1-path={tmp_path / 'drill' / 'restore'}" in argv


async def test_pgbackrest_tablespace_is_restored_into_scratch(
    pgbackrest: backup_tools.PgBackRest, scratch_in_tmp: Path
) -> None:
    """A table in a tablespace outside the data directory is restored and queried from the
    drill folder; the tablespace's original location is left as it was."""
    before = sorted(str(p) for p in pgbackrest.tablespace.rglob("*"))
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    item = backup(check, sanity_query="select n from in_tablespace", run_as="postgres")
    outcome = await drill(item, scratch_in_tmp, budget=180)
    assert outcome.result.failure is None, outcome.result.failure
    assert outcome.result.check_result is not None
    assert "sanity query: 1 rows" in outcome.result.check_result
    assert sorted(str(p) for p in pgbackrest.tablespace.rglob("*")) == before
    assert leftovers(scratch_in_tmp) == []


async def test_pgbackrest_backup_over_max_size_is_refused_before(
    pgbackrest: backup_tools.PgBackRest, scratch_in_tmp: Path
) -> None:
    """The newest backup's size (`info.size`) over `max_size` fails the restore before
    anything is restored."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    item = backup(check, sanity_query="select 1", run_as="postgres", max_size="1MiB")
    outcome = await drill(item, scratch_in_tmp, budget=180)
    failure = outcome.result.failure
    assert failure is not None
    assert failure.reason == "over_max_size"
    assert "scratch over max_size: restore is" in failure.message
    assert outcome.result.files_restored is None
    assert leftovers(scratch_in_tmp) == []


async def test_pgbackrest_failing_sanity_query(
    pgbackrest: backup_tools.PgBackRest, scratch_in_tmp: Path
) -> None:
    """A sanity query that fails (no such table) fails the drill; the server is stopped and
    scratch removed all the same."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    item = backup(check, sanity_query="select * from no_such_table", run_as="postgres")
    outcome = await drill(item, scratch_in_tmp, budget=180)
    assert outcome.result.failure is not None
    assert outcome.result.failure.reason == "sanity_failed"
    assert outcome.result.failure.message == "psql exited 1 (SQLSTATE 42P01)"
    assert leftovers(scratch_in_tmp) == []


async def test_a_failing_sanity_query_quotes_no_row_value(
    pgbackrest: backup_tools.PgBackRest, scratch_in_tmp: Path
) -> None:
    """A query failing on a restored value (a database name cast to int: PostgreSQL's
    message quotes the value) fails with psql's exit status and SQLSTATE, not the value."""
    check = {"kind": "pgbackrest", "stanza": pgbackrest.stanza, "config": str(pgbackrest.config)}
    item = backup(check, sanity_query="select datname::int from pg_database", run_as="postgres")
    outcome = await drill(item, scratch_in_tmp, budget=180)
    failure = outcome.result.failure
    assert failure is not None
    assert failure.reason == "sanity_failed"
    assert failure.message == "psql exited 1 (SQLSTATE 22P02)"
    assert "template" not in failure.message
