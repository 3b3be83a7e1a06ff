"""The exception hierarchy, and the exit code each kind maps to (sysexits).

    OpsEvidenceError                  base; carries an exit code and a safe message
    ├── ConfigError (78)              bad settings or inventory; names variable / file:line
    ├── UsageError (64)               bad command-line use
    ├── UnavailableError (69)         a required downstream or tool cannot be reached
    ├── OutboxBusyError (75)          another `run` or `outbox drain` owns the outbox: try
                                      again once it has stopped
    └── OutboxError (74)              the local outbox (or the probe state beside it) cannot be
                                      written: an I/O error, e.g. a full disk
        └── OutboxFullError (74)      the size cap would be exceeded; the event is refused

Failures of the outside world while probing or delivering are *data* (a `verified: false`
event, a `retrying` outcome), never exceptions: these types are for the operator's mistakes
and for the service's own resources. Every message must already be redacted: it is printed
as-is, without a traceback.

An error escaping a task group arrives wrapped in an `ExceptionGroup` (often nested, one
level per group), perhaps with siblings that failed the same way; `primary` picks the one
to report: an outbox error first (a full or failing disk is usually the cause of the rest),
then any other of these types, then an `OSError`, then anything else. The others are not
dropped: `others` gives them to the CLI, which logs their kinds and count, and each bug's
traceback (`is_bug`), at error level in the structured (redacted) log.
"""

from __future__ import annotations

EX_OK = 0
EX_USAGE = 64
EX_UNAVAILABLE = 69
EX_IOERR = 74
EX_TEMPFAIL = 75
EX_CONFIG = 78


class OpsEvidenceError(Exception):
    """Base of every error the CLI turns into a message and an exit code."""

    exit_code: int = 1

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def render(self) -> str:
        """The message plus one line per problem, as printed to the operator."""
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class ConfigError(OpsEvidenceError):
    """Settings or inventory are invalid; the message names where."""

    exit_code = EX_CONFIG


class UsageError(OpsEvidenceError):
    """The command line itself is wrong."""

    exit_code = EX_USAGE


class UnavailableError(OpsEvidenceError):
    """A service or tool the command needs cannot be reached."""

    exit_code = EX_UNAVAILABLE


class OutboxBusyError(OpsEvidenceError):
    """Another process owns the outbox (delivery/outbox/lock.py); the command can be retried
    later."""

    exit_code = EX_TEMPFAIL


class OutboxError(OpsEvidenceError):
    """The durable outbox cannot be read or written."""

    exit_code = EX_IOERR


class OutboxFullError(OutboxError):
    """Accepting the event would exceed the outbox size cap; it is refused, loudly."""


def primary(exc: BaseException) -> BaseException:
    """The error to report for `exc`: `exc` itself, or a group's most important leaf."""
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    # min() keeps the first of equal rank: the order in which the tasks failed.
    return min(_leaves(exc), key=_rank)


def others(exc: BaseException, chosen: BaseException) -> list[BaseException]:
    """The errors of `exc` (a group's leaves) other than the `chosen` one, in order."""
    if not isinstance(exc, BaseExceptionGroup):
        return []
    return [leaf for leaf in _leaves(exc) if leaf is not chosen]


def is_bug(exc: BaseException) -> bool:
    """True for an error of no kind the CLI reports as a line (not ours, not an OSError)."""
    return not isinstance(exc, OpsEvidenceError | OSError)


def describe_exception(exc: BaseException) -> str:
    """`TypeName: text` of an exception, for a failure message or a log line (not redacted:
    `checks.base.Failure.of` and the log renderer redact it)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


def _rank(exc: BaseException) -> int:
    kinds = (OutboxError, OpsEvidenceError, OSError, Exception)
    return next((n for n, kind in enumerate(kinds) if isinstance(exc, kind)), len(kinds))
