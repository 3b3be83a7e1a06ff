"""`ops-evidence validate` and `schemas` as a user runs them: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, run_cli

CANARY = "canary-ops-hub-key-5d1e0"
DATA = REPO / "tests" / "data"


def test_validate_example_prints_summary() -> None:
    """The README's first command exits 0 and prints counts per event type."""
    result = run_cli(["validate", "--inventory", "examples/railiance.yaml"])
    assert result.returncode == 0, result.stderr
    assert "ops-endpoint-verified       5" in result.stdout
    assert "ops-readiness-gate-updated  15" in result.stdout
    assert "endpoint:gitea-registry" in result.stdout


def test_validate_json_shows_routes() -> None:
    """--json reports each entity's sink; mapped entities go to Inter-Hub."""
    env = {
        "INTER_HUB_URL": "https://hub.example.test",
        "OPS_HUB_KEY": CANARY,
        "OPS_HUB_WIDGET_MAPPING": '{"entities": {"endpoint:gitea-registry": "w-1"}}',
    }
    result = run_cli(["validate", "--inventory", "examples/railiance.yaml", "--json"], env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    routes = {e["context_key"]: e for e in summary["entities"]}
    assert routes["endpoint:gitea-registry"]["sink"] == "inter-hub"
    assert routes["backup:gitea-db-restic"]["fallback_status"] == "missing_widget_mapping"
    assert CANARY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"OPS_HUB_WIDGET_MAPPING": "{oops"}, [], "OPS_HUB_WIDGET_MAPPING: inline JSON is not valid JSON"),
        ({"OPS_HUB_WIDGET_MAPPING": '{"bogus": 1}'}, [], "bogus: unknown field"),
        ({"INTER_HUB_URL": "hub dot example"}, [], "INTER_HUB_URL: Input should be a valid URL"),
        ({"INTER_HUB_URL": "http://hub.example.test"}, [], "refusing to send OPS_HUB_KEY over plain http://"),
        ({"OPS_EVIDENCE_INTER_HUB_AUTH_HEADER": "Bad Header"}, [], "must be an HTTP token"),
        ({}, ["--inventory", str(DATA / "invalid-unknown-key.yaml")], "colour: unknown key"),
        ({}, ["--inventory", str(DATA / "invalid-inline-secret.yaml")], "inline secrets are not allowed"),
    ],
)  # fmt: skip
def test_bad_input_exits_78_without_traceback_or_secret(
    env: dict[str, str], args: list[str], expected: str
) -> None:
    """Bad settings or inventory: exit 78, one clear message, no traceback, no key."""
    result = run_cli(
        ["validate", "--inventory", "examples/railiance.yaml", *args],
        {**env, "OPS_HUB_KEY": CANARY},
    )
    assert result.returncode == 78
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert "hunter2" not in result.stderr


def test_usage_error_is_64() -> None:
    """An unknown subcommand is a usage error."""
    assert run_cli(["frobnicate"]).returncode == 64


def test_schemas_check_detects_drift(tmp_path: Path) -> None:
    """`schemas --check` passes on the repo and fails (78) on a stale copy."""
    assert run_cli(["schemas", "--check"]).returncode == 0
    assert run_cli(["schemas", "--write", "--dir", str(tmp_path)]).returncode == 0
    target = tmp_path / "ops-backup-verified.schema.json"
    target.write_text(target.read_text().replace("backup", "bakup"))
    result = run_cli(["schemas", "--check", "--dir", str(tmp_path)])
    assert result.returncode == 78
    assert "ops-backup-verified.schema.json: differs from the model" in result.stderr


def test_a_reader_that_goes_away_is_not_a_traceback() -> None:
    """`ops-evidence gates | head -1`: stdout's reader is gone; exit 141, stderr quiet."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first write: every write is EPIPE
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ops_evidence",
                "gates",
                "--inventory",
                "examples/railiance.yaml",
            ],
            cwd=REPO,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr


def test_a_path_that_cannot_be_written_is_74_in_one_line(tmp_path: Path) -> None:
    """`schemas --write --dir` under a regular file: exit 74 (I/O), one line naming it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli(["schemas", "--write", "--dir", str(blocker / "schemas")])
    assert result.returncode == 74, result.stderr
    assert "Traceback" not in result.stderr
    assert str(blocker / "schemas") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
