"""What every backup reader reports, and the parsing helpers they share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops_evidence.checks.base import Failure
from ops_evidence.checks.subprocess import ToolResult


@dataclass(frozen=True, slots=True)
class BackupObservation:
    """The newest backup a tool reports; `failure` when it could not be read at all."""

    last_backup_at: datetime | None = None
    size_bytes: int | None = None
    last_run_failed: bool | None = None
    backup_count: int | None = None
    # Which backup that is: restic's snapshot id, borg's archive id and name, pgBackRest's
    # label. Raw; the event types them as identifiers (`SnapshotId`, `ArchiveName`).
    snapshot_id: str | None = None
    archive_name: str | None = None
    failure: Failure | None = None


def parse_time(value: Any) -> datetime:
    """An ISO 8601 timestamp (or epoch seconds) as an aware UTC datetime; naive means UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip().replace("Z", "+00:00")
    # restic prints nanoseconds; datetime takes at most microseconds.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def tool_json(tool: str, result: ToolResult, auth_markers: tuple[str, ...]) -> Any | Failure:
    """The tool's stdout as JSON, or the Failure explaining why there is none."""
    if result.failure is not None:
        return result.failure
    if result.returncode != 0:
        lowered = result.stderr_line.lower()
        if any(marker in lowered for marker in auth_markers):
            return Failure.of("auth_failed", f"{tool}: {result.stderr_line}")
        return Failure.of("tool_failed", f"{tool} exited {result.returncode}: {result.stderr_line}")
    try:
        return json.loads(result.stdout)
    except ValueError:
        return Failure.of("bad_json", f"{tool} printed something that is not JSON")


def shape_error(tool: str, exc: Exception) -> Failure:
    """The tool's JSON did not have the expected shape (a version we do not understand)."""
    return Failure.of("bad_json", f"{tool}: unexpected JSON ({type(exc).__name__}: {exc})")
