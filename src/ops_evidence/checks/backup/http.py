"""HTTP: a JSON status endpoint reporting the last backup's timestamp (and size, success)."""

from __future__ import annotations

from ops_evidence.checks.backup.base import BackupObservation, parse_time
from ops_evidence.checks.base import Failure
from ops_evidence.checks.http import ClientFactory, fetch, fresh_client, json_path
from ops_evidence.inventory.checks import HttpBackup, HttpOptions


async def read_http(
    check: HttpBackup, *, timeout: float, client_factory: ClientFactory = fresh_client
) -> BackupObservation:
    """GET the endpoint and read the configured fields; never raises."""
    options = HttpOptions(url=check.url, bearer_token=check.bearer_token, ca_file=check.ca_file)
    result = await fetch(options, timeout=timeout, client_factory=client_factory)
    if result.failure is not None:
        return BackupObservation(failure=result.failure)
    if result.status != 200:
        message = f"{result.url}: status {result.status}"
        return BackupObservation(failure=Failure.of("unexpected_status", message))
    try:
        document = result.json()
        when = parse_time(json_path(document, check.timestamp_field))
        size = int(json_path(document, check.size_field)) if check.size_field else None
        ok = bool(json_path(document, check.success_field)) if check.success_field else None
    except KeyError as exc:
        return BackupObservation(failure=Failure.of("field_missing", f"no field {exc}"))
    except (TypeError, ValueError):
        return BackupObservation(failure=Failure.of("bad_json", f"{result.url}: unreadable JSON"))
    return BackupObservation(
        last_backup_at=when, size_bytes=size, last_run_failed=None if ok is None else not ok
    )
