"""The command line's entry: which subcommand modules load, help and usage errors."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest

from ops_evidence.cli import COMMANDS, chosen_command, main
from ops_evidence.cli import run as run_command
from ops_evidence.errors import EX_IOERR, EX_USAGE, ConfigError, OutboxError, primary
from ops_evidence.logging import configure_logging
from ops_evidence.redact import register_secret

_LOADED = (
    "import sys\n"
    "from ops_evidence.cli import main\n"
    "try:\n"
    "    main(['run', '--help'])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(sorted(m for m in sys.modules if m.startswith(('ops_evidence.', 'uvicorn', 'starl'))))\n"
)


def test_run_loads_no_other_subcommand() -> None:
    """`ops-evidence run` imports its own module, not the emulator or the other commands',
    nor uvicorn and Starlette (the emulator's server; the service's listener needs neither)."""
    out = subprocess.run(
        [sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True
    ).stdout
    loaded = out.strip().splitlines()[-1]
    assert "'ops_evidence.cli.run'" in loaded
    assert "ops_evidence.emulator" not in loaded
    assert "ops_evidence.cli.smoke" not in loaded
    assert "ops_evidence.cli.demo" not in loaded
    assert "uvicorn" not in loaded
    assert "starlette" not in loaded


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--once"], "run"),
        (["gate-probe"], "gate-probe"),
        (["-h", "run"], None),
        (["nonsense"], None),
        ([], None),
    ],
)
def test_chosen_command(argv: list[str], expected: str | None) -> None:
    """Only a known subcommand in first place narrows the parser."""
    assert chosen_command(argv) == expected


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`ops-evidence --help` still names all subcommands."""
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ")}
    assert listed >= set(COMMANDS)


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown subcommand exits 64 and lists the valid ones."""
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == EX_USAGE
    err = capsys.readouterr().err
    assert "invalid choice: 'nonsense'" in err
    assert "gate-probe" in err


def _group(*errors: BaseException) -> BaseExceptionGroup[BaseException]:
    """Nested the way anyio's task groups nest them (service, dispatcher, sink loop)."""
    return BaseExceptionGroup(
        "unhandled errors in a TaskGroup",
        [BaseExceptionGroup("unhandled errors in a TaskGroup", list(errors))],
    )


def _raised_bug(message: str) -> RuntimeError:
    """A bug as raised and caught: with its traceback, as it arrives from a task."""
    try:
        raise RuntimeError(message)
    except RuntimeError as caught:
        return caught


def test_primary_prefers_the_outbox_error_then_ours_then_os_errors() -> None:
    """From a nested group, the outbox error is reported before any other kind."""
    disk = OutboxError("outbox /s/outbox.sqlite3: database or disk is full")
    config, oserror, bug = ConfigError("bad"), OSError("eio"), RuntimeError("bug")
    assert primary(_group(bug, oserror, config, disk)) is disk
    assert primary(_group(bug, oserror, config)) is config
    assert primary(_group(bug, oserror)) is oserror
    assert primary(_group(bug, KeyboardInterrupt())) is bug
    assert primary(disk) is disk


def test_an_outbox_error_escaping_task_groups_is_one_line_and_74(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` failing inside the service's task groups (a full disk beside a sibling's error)
    prints the outbox error as one line and exits 74, no traceback; the sibling goes to the
    structured log (next test), here sent elsewhere."""

    def failing(_: argparse.Namespace) -> int:
        raise _group(
            RuntimeError("cancelled sibling"),
            OutboxError("outbox /s/outbox.sqlite3: database or disk is full"),
        )

    monkeypatch.setattr(run_command, "run", failing)
    configure_logging("info", "json", io.StringIO())
    assert main(["run"]) == EX_IOERR
    err = capsys.readouterr().err
    assert err == "ops-evidence: error: outbox /s/outbox.sqlite3: database or disk is full\n"


def test_a_bug_escaping_task_groups_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group holding only errors of no known kind (bugs) is raised as it came."""
    group = _group(RuntimeError("bug"))

    def failing(_: argparse.Namespace) -> int:
        raise group

    monkeypatch.setattr(run_command, "run", failing)
    with pytest.raises(BaseExceptionGroup) as caught:
        main(["run"])
    assert caught.value is group


def test_the_other_errors_of_a_group_are_logged_and_the_bug_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beside the one reported line and 74, the group's other errors are logged at error
    level (kinds and count), each bug with its traceback, redacted."""
    log = io.StringIO()
    configure_logging("info", "json", log)
    register_secret("canary-bug-secret-123")

    def failing(_: argparse.Namespace) -> int:
        raise _group(
            _raised_bug("bug near canary-bug-secret-123"),
            ConnectionResetError(),
            OutboxError("outbox /s/outbox.sqlite3: database or disk is full"),
        )

    monkeypatch.setattr(run_command, "run", failing)
    assert main(["run"]) == EX_IOERR
    assert capsys.readouterr().err.count("\n") == 1
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    summary = next(line for line in lines if line["event"] == "other_errors")
    assert summary["level"] == "error"
    assert (summary["count"], summary["reported"]) == (2, "OutboxError")
    assert summary["types"] == ["RuntimeError", "ConnectionResetError"]
    [bug] = [line for line in lines if line["event"] == "other_error_bug"]
    assert bug["level"] == "error"
    assert bug["error_type"] == "RuntimeError"
    assert bug["exception"][0]["exc_type"] == "RuntimeError"
    assert bug["exception"][0]["frames"]
    assert "canary-bug-secret-123" not in log.getvalue()


def test_the_service_never_loads_the_cryptography_package() -> None:
    """The service's probes, TLS chain reading included, and its run command load no
    `cryptography` (12.7 MiB of RSS on import; the idle bar is 60 MB): certificates are
    decoded by the OpenSSL that `ssl` loaded already."""
    code = (
        "import sys\n"
        "import ops_evidence.cli.run, ops_evidence.probes.registry, ops_evidence.checks.tls\n"
        "from ops_evidence.probes.registry import PROBES\n"
        "print(PROBES and [m for m in sys.modules if m.split('.')[0] == 'cryptography'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_service_never_loads_click_through_httpx() -> None:
    """httpx's init tries its command-line client, which loads click (1.0 MiB of RSS) before
    it fails on pygments: `ops_evidence` stands in for that client, so the run command, its
    probes and its sinks load no click (the emulator, through uvicorn, still does)."""
    code = (
        "import sys\n"
        "import ops_evidence.cli.run, ops_evidence.probes.registry, httpx\n"
        "print(httpx.Client and sorted({m.split('.')[0] for m in sys.modules} & {'click'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
