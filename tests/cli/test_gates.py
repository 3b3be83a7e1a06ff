"""`ops-evidence gates` as an operator runs it: fifteen gates, five waves, JSON, G15 evidence."""

from __future__ import annotations

import json
from pathlib import Path

from ops_evidence.probes.readiness.rollout_outcomes import load_outcomes
from tests.cli.rollout_support import canary_hub, hub_env
from tests.conftest import EXAMPLE_INVENTORY
from tests.support import run_cli

GATES = [f"OPS-G{n:02d}" for n in range(1, 16)]
WAVES = [
    "wave-0-catalog",
    "wave-1-registry-proof",
    "wave-2-backup-restore",
    "wave-3-threephoenix-foundation",
    "wave-4-service-migration",
]


def test_example_inventory_prints_all_gates_and_waves(tmp_path: Path) -> None:
    """The README command, through the CLI entry, prints fifteen gate rows and five wave rows."""
    result = run_cli(
        ["gates", "--inventory", "examples/railiance.yaml"],
        {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert lines[0].split() == ["gate", "status", "seed", "decided", "by", "name", "reason"]
    assert [line.split()[0] for line in lines if line.startswith("OPS-G")] == GATES
    assert [line.split()[0] for line in lines if line.startswith("wave-")] == WAVES
    assert any(line.startswith("OPS-G07  unknown") for line in lines)
    assert "0 of 15 gates ready; 0 of 5 waves ready" in out


def test_json_without_observations() -> None:
    """--json: probe-decided gates without observations are unknown (no evidence yet); the
    example's seed statuses come back as manual evidence; manual-only gates without any stay
    unknown."""
    result = run_cli(["gates", "--inventory", str(EXAMPLE_INVENTORY), "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    gates = {g["gate"]: g for g in report["gates"]}
    assert list(gates) == GATES
    assert [w["wave"] for w in report["waves"]] == WAVES
    assert gates["OPS-G06"]["status"] == "unknown"
    assert gates["OPS-G06"]["reasons"][0] == "no evidence yet"
    assert (gates["OPS-G01"]["status"], gates["OPS-G01"]["decided_by"]) == ("partial", "evidence")
    assert (gates["OPS-G04"]["status"], gates["OPS-G04"]["decided_by"]) == ("partial", "manual")
    assert (gates["OPS-G09"]["status"], gates["OPS-G09"]["decided_by"]) == ("unknown", "none")
    assert not any(w["ready"] for w in report["waves"])


def test_recorded_gate_probe_and_smoke_make_g15_ready(tmp_path: Path) -> None:
    """gate-probe --record and smoke --record against the emulator, then `gates`: G15 ready."""
    with canary_hub() as base_url:
        env = {**hub_env(base_url), "OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
        probe = run_cli(["gate-probe", "--record"], env)
        smoke = run_cli(["smoke", "--record", "--json"], env)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "recorded smoke pass in" in smoke.stderr
    json.loads(smoke.stdout)  # --record keeps stdout pure JSON
    recorded = load_outcomes(tmp_path)
    # The verdicts survive redaction as written ("passed: 8" would have been masked).
    assert recorded["smoke"].detail == "all 8 checks passed"
    assert recorded["gate-probe"].detail == "submission can go live"
    result = run_cli(
        ["gates", "--inventory", str(EXAMPLE_INVENTORY), "--json"],
        {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)},
    )
    g15 = next(g for g in json.loads(result.stdout)["gates"] if g["gate"] == "OPS-G15")
    assert (g15["status"], g15["decided_by"]) == ("ready", "evidence")


def test_unknown_gate_in_the_inventory_is_a_config_error(tmp_path: Path) -> None:
    """Manual evidence for a gate the catalog lacks: exit 78 naming file, line and gate."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "version: 1\ngates:\n  OPS-G99:\n    link: x\n    date: 2026-06-20\n    by: me\n",
        encoding="utf-8",
    )
    result = run_cli(["gates", "--inventory", str(path)])
    assert result.returncode == 78
    assert f"{path}:3: gates.OPS-G99: unknown gate 'OPS-G99'" in result.stderr
    assert "Traceback" not in result.stderr


LOOPBACK_INVENTORY = """\
version: 1
name: loopback
environments:
  - {id: local, role: test, lifecycle: active, owner: ops}
services:
  - id: web
    environment: local
    owner_repo: web-repo
    lifecycle: active
    backing_stores: []
    check: {kind: tcp, host: 127.0.0.1, port: 1}
endpoints:
  - {id: web-root, service: web, url: "http://127.0.0.1:1/"}
"""


def test_observe_runs_the_probes_first(tmp_path: Path) -> None:
    """Without --observe G02 has no evidence (unknown); with it the refused loopback service
    has been observed, so its fully declared catalog entry is ready."""
    path = tmp_path / "inventory.yaml"
    path.write_text(LOOPBACK_INVENTORY, encoding="utf-8")
    env = {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}

    def g02(*flags: str) -> str:
        result = run_cli(["gates", "--inventory", str(path), "--json", *flags], env)
        assert result.returncode == 0, result.stderr
        gates = json.loads(result.stdout)["gates"]
        return str(next(g["status"] for g in gates if g["gate"] == "OPS-G02"))

    assert g02() == "unknown"
    assert g02("--observe") == "ready"


def test_probe_of_a_gate_observes_first(tmp_path: Path) -> None:
    """`probe gate:OPS-G02` runs the observation probes before evaluating the gate."""
    path = tmp_path / "inventory.yaml"
    path.write_text(LOOPBACK_INVENTORY, encoding="utf-8")
    result = run_cli(
        ["probe", "gate:OPS-G02", "--inventory", str(path), "--json"],
        {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr  # ready is verified
    event = json.loads(result.stdout)
    assert event["event_type"] == "ops-readiness-gate-updated"
    assert event["attributes"]["status"] == "ready"


EXEMPT_INVENTORY = """\
version: 1
name: exempt
environments:
  - {id: local, role: test, lifecycle: active, owner: ops}
  - {id: coulombcore, role: test, lifecycle: active, owner: ops}
  - {id: railiance01, role: test, lifecycle: active, owner: ops}
  - {id: threephoenix-prod, role: test, lifecycle: active, owner: ops}
gates:
  OPS-G03:
    link: https://git.test/runbook.md
    date: 2000-01-01
    by: ops
    status: ready
    review_every: 90d
exemptions:
  OPS-G01:
    owner: platform-team
    reason: audit pending
    expires: 2099-01-01
  OPS-G09:
    owner: platform-team
    reason: waiting for the new cluster
    expires: 2099-01-01
  OPS-G10:
    owner: platform-team
    reason: was waiting for the cluster
    expires: 2000-01-01
"""


def test_the_table_shows_exempt_gates_and_expired_evidence(tmp_path: Path) -> None:
    """An exempt gate shows `exempt`, an exempt gate the evidence made ready `ready (exempt)`,
    an expired exemption and an expired attestation their reason; the summary counts them."""
    path = tmp_path / "inventory.yaml"
    path.write_text(EXEMPT_INVENTORY, encoding="utf-8")
    result = run_cli(["gates", "--inventory", str(path)], {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = {
        line.split()[0]: line for line in result.stdout.splitlines() if line[:4] in ("OPS-", "wave")
    }
    assert rows["OPS-G01"].split()[1:3] == ["ready", "(exempt)"]
    assert rows["OPS-G09"].split()[1] == "exempt"
    assert (
        "exempt until 2099-01-01 (owner platform-team): waiting for the new cluster"
        in rows["OPS-G09"]
    )
    assert "exemption expired on 2000-01-01 (owner platform-team)" in rows["OPS-G10"]
    assert rows["OPS-G03"].split()[1] == "unknown"
    assert "attestation expired on 2000-03-31" in rows["OPS-G03"]
    assert "OPS-G09 exempt" in rows["wave-3-threephoenix-foundation"]
    assert "1 of 15 gates ready, 2 exempt;" in result.stdout


def test_json_carries_the_exemption_and_the_evidence_used(tmp_path: Path) -> None:
    """--json: `exempt`, the exemption entry and the evidence list (the exemption names itself)."""
    path = tmp_path / "inventory.yaml"
    path.write_text(EXEMPT_INVENTORY, encoding="utf-8")
    result = run_cli(
        ["gates", "--inventory", str(path), "--json"], {"OPS_EVIDENCE_STATE_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    gates = {g["gate"]: g for g in json.loads(result.stdout)["gates"]}
    g09 = gates["OPS-G09"]
    assert (g09["status"], g09["exempt"], g09["decided_by"]) == ("exempt", True, "exemption")
    assert g09["exemption"]["owner"] == "platform-team"
    assert g09["evidence"] == [
        {"context_key": "inventory:exemptions.OPS-G09", "run_id": None, "observed_at": None}
    ]
    assert (gates["OPS-G10"]["exempt"], gates["OPS-G10"]["status"]) == (False, "unknown")
