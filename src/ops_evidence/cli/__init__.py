"""`ops-evidence` command line: one module per subcommand, each with `register(subparsers)`.

Exit codes follow sysexits: 0 ok, 64 usage, 69 unavailable, 74 I/O, 75 outbox owned by
another `run`/`drain` (try again later), 78 configuration.
Errors print one clear message and no traceback — also when they escape the service's task
groups inside an `ExceptionGroup` (`errors.primary` picks the one to report).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

import structlog

from ops_evidence import __version__
from ops_evidence.errors import EX_IOERR, EX_USAGE, OpsEvidenceError, is_bug, others, primary
from ops_evidence.logging import configure_logging, get_logger

# Subcommands in the order `--help` lists them; the module is the name with `_` for `-`.
COMMANDS = (
    "validate",
    "probe",
    "run",
    "demo",
    "schemas",
    "outbox",
    "manifest",
    "emulate",
    "gate-probe",
    "seed-widgets",
    "smoke",
    "gates",
)

EXIT_BROKEN_PIPE = 141

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EX_USAGE)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser, each subcommand registered by its module; all of them, or just `only`."""
    parser = _Parser(prog="ops-evidence", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"ops-evidence {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        if only is None or name == only:
            import_module(f"ops_evidence.cli.{name.replace('-', '_')}").register(sub)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` starts with, if it is a known one (after a top-level option such
    as `-h`, None: the full parser answers)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    # Only the chosen subcommand's module is imported: `run` lives for months, and the other
    # commands' modules (the emulator among them) would cost it RSS for nothing. With no
    # known subcommand, every one is registered, so help and "invalid choice" list them all.
    args = build_parser(chosen_command(argv)).parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BaseException as caught:  # what _report does not know (SystemExit, a bug) goes on
        chosen = primary(caught)
        code = _report(chosen)
        if code is None:
            raise  # a bug: its traceback (the whole group's) is what a developer needs
        _log_the_others(caught, chosen)
        return code


def _log_the_others(caught: BaseException, chosen: BaseException) -> None:
    """Log what a group held beside the reported error: kinds and count, then each bug with
    its traceback (error level; redacted like every log line), so none is lost."""
    rest = others(caught, chosen)
    if not rest:
        return
    if not structlog.is_configured():  # failed before its handler set logging up
        configure_logging()
    log = get_logger(component="cli")
    log.error(
        "other_errors",
        reported=type(chosen).__name__,
        count=len(rest),
        types=[type(e).__name__ for e in rest],
    )
    for exc in rest:
        if is_bug(exc):
            log.error("other_error_bug", error_type=type(exc).__name__, exc_info=exc)


def _report(exc: BaseException) -> int | None:
    """Print the one line for an error of a known kind; its exit code (None: unknown)."""
    if isinstance(exc, OpsEvidenceError):
        sys.stderr.write(f"ops-evidence: error: {exc.render()}\n")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, BrokenPipeError):
        return _reader_gone()
    if isinstance(exc, OSError):
        # A file the command was asked to write or read (`--out`, `--dir`): one line, 74.
        where = f" {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"ops-evidence: error: cannot use{where}: {exc.strerror or exc}\n")
        return EX_IOERR
    return None


def _reader_gone() -> int:
    # The reader went away (`| head`): nothing of ours failed. Point stdout at /dev/null so
    # the interpreter's final flush does not raise again; 141 is what a shell reports for a
    # command ended by SIGPIPE.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE
