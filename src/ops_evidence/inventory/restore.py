"""A backup's restore drill (`restore:`): how to restore it into scratch and what to check.

A drill is its own `Schedule`: drills are slow and heavy, so they run rarely (every 7 days,
30 minutes each, unless declared). Which settings apply depends on the backup's tool; the
backup (`models.Backup`) refuses the ones its tool has no use for, and refuses a scratch
that is, or sits inside, one of the backup's live locations (`live_locations`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from ops_evidence.config.durations import ByteSize, Duration
from ops_evidence.inventory.checks import BackupCheck, Schedule

# Which drill settings each tool reads; a setting declared for another tool is an error, not
# silently ignored (a `dry_run: true` on restic would look like a safety it does not give).
TOOL_SETTINGS: dict[str, frozenset[str]] = {
    "restic": frozenset({"include", "read_data_subset", "verify_checksums"}),
    "borg": frozenset({"dry_run", "verify_checksums"}),
    "pgbackrest": frozenset({"sanity_query", "database", "pg_bin", "run_as"}),
    "files": frozenset({"command"}),
}
_ALL_TOOL_SETTINGS = frozenset().union(*TOOL_SETTINGS.values())


def _absolute(value: Path) -> Path:
    # A relative path would depend on the service's working directory.
    if not value.is_absolute():
        raise ValueError("must be an absolute path")
    return value


AbsolutePath = Annotated[Path, AfterValidator(_absolute)]
Subset = Annotated[str, Field(pattern=r"^(\d{1,3}(\.\d+)?%|\d+/\d+)$")]


class RestoreDrill(Schedule):
    """Restore the newest backup into a scratch folder, verify it, remove the folder."""

    interval: Duration | None = timedelta(days=7)
    timeout: Duration | None = timedelta(minutes=30)
    scratch: AbsolutePath | None = Field(
        default=None,
        description="Folder the drill folders are made in; `<state dir>/restore-scratch`.",
    )
    max_size: ByteSize = Field(
        default=10 * 2**30, gt=0, description="The restore fails past this many bytes."
    )
    live_paths: list[AbsolutePath] = Field(
        default_factory=list,
        description="More live locations (a database's data directory) scratch must avoid.",
    )
    include: list[str] = Field(default_factory=list, description="restic: restore only these.")
    read_data_subset: Subset | None = Field(
        default=None, description="restic: also `check --read-data-subset` (`5%`, `1/10`)."
    )
    dry_run: bool = Field(default=False, description="borg: `extract --dry-run` (no files).")
    sanity_query: str | None = Field(
        default=None,
        min_length=1,
        description="pgBackRest: also restore into scratch, start PostgreSQL on a private "
        "socket and run this query (it must succeed).",
    )
    database: str = Field(default="postgres", min_length=1, description="pgBackRest: for it.")
    pg_bin: Path | None = Field(
        default=None,
        description="pgBackRest: PostgreSQL's bin folder; the newest /usr/lib/postgresql/*/bin.",
    )
    run_as: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="pgBackRest: the OS user that restores and runs the server when the "
        "service runs as root (PostgreSQL refuses root), e.g. `postgres`.",
    )
    command: list[str] | None = Field(
        default=None,
        min_length=1,
        description="files: argv run with the newest file's path appended (no shell).",
    )
    verify_checksums: list[AbsolutePath] = Field(
        default_factory=list,
        max_length=32,
        description="restic/borg: source files whose sha256 must equal the restored copy's.",
    )

    def declared_settings(self) -> set[str]:
        """The tool-specific settings this drill declares."""
        return set(self.model_fields_set) & _ALL_TOOL_SETTINGS


def live_locations(check: BackupCheck, drill: RestoreDrill) -> list[Path]:
    """Where the backup's data lives: a restore must never write there. The backup folder of
    a `files` check, a local restic/borg repository, the checksum sources (the live files),
    and the declared `live_paths`."""
    places = list(drill.live_paths) + list(drill.verify_checksums)
    if check.kind == "files":
        places.append(check.path)
    if check.kind in ("restic", "borg") and (local := local_repository(check.repository)):
        places.append(local)
    return places


def local_repository(repository: str) -> Path | None:
    """The folder of a repository on this machine (`/srv/r`, restic's `local:/srv/r`, borg's
    `file:///srv/r`, `~/r` with the home folder expanded); None for a remote one (`sftp:`,
    `rest:`, `s3:`, `ssh://`, `user@host:path` …: nothing on this machine to protect)."""
    local = repository.removeprefix("local:").removeprefix("file://")
    if local.startswith("~"):
        try:
            local = str(Path(local).expanduser())
        except RuntimeError:  # no home folder to expand to
            return None
    return Path(local) if local.startswith("/") else None


def unsafe_scratch(scratch: Path, live: list[Path]) -> Path | None:
    """The live location `scratch` equals or sits inside, if any (paths resolved)."""
    resolved = scratch.resolve()
    for place in live:
        target = place.resolve()
        if resolved == target or resolved.is_relative_to(target):
            return place
    return None


def refuse_unfit_drill(check: BackupCheck, drill: RestoreDrill) -> None:
    """ValueError when the drill does not fit its backup: no drill for the tool, a setting of
    another tool, or a scratch that is (or sits inside) one of the backup's live locations."""
    allowed = TOOL_SETTINGS.get(check.kind)
    if allowed is None:
        raise ValueError(f"no restore drill for `{check.kind}` backups")
    if wrong := sorted(drill.declared_settings() - allowed):
        raise ValueError(f"{', '.join(wrong)} do not apply to {check.kind}")
    live = unsafe_scratch(drill.scratch, live_locations(check, drill)) if drill.scratch else None
    if live is not None:
        raise ValueError(
            f"scratch {drill.scratch} is or sits inside the live location {live};"
            " a drill must never restore over live data"
        )
