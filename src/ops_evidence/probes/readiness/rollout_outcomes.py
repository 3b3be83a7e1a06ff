"""Recorded outcomes of the rollout commands, the evidence of readiness gate OPS-G15.

`gate-probe --record` and `smoke --record` write their verdict to
`<state dir>/rollout/<command>.json` (one small JSON file each, replaced atomically), so the
service evaluating the gates — in the pod, on the same volume — sees that Inter-Hub accepts
evidence. Only the verdict and a one-line redacted detail are kept, never a request or answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ops_evidence.logging import get_logger
from ops_evidence.redact import redact_text

RolloutCommand = Literal["gate-probe", "smoke"]
COMMANDS: tuple[RolloutCommand, ...] = ("gate-probe", "smoke")

log = get_logger(component="rollout")


class RolloutOutcome(BaseModel):
    """One command's last recorded verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: RolloutCommand
    ok: bool
    at: AwareDatetime
    detail: str = Field(max_length=200)


def outcome_path(state_dir: Path, command: RolloutCommand) -> Path:
    """Where a command's outcome is recorded."""
    return state_dir / "rollout" / f"{command}.json"


def record_outcome(state_dir: Path, outcome: RolloutOutcome) -> Path:
    """Write the outcome atomically (temp file + rename); returns its path."""
    path = outcome_path(state_dir, outcome.command)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = outcome.model_copy(update={"detail": redact_text(outcome.detail, limit=200)})
    temp = path.with_suffix(".tmp")
    temp.write_text(safe.model_dump_json() + "\n", encoding="utf-8")
    temp.replace(path)
    return path


def load_outcomes(state_dir: Path | None) -> dict[RolloutCommand, RolloutOutcome]:
    """Every recorded outcome; a missing or unreadable file is no outcome (logged)."""
    outcomes: dict[RolloutCommand, RolloutOutcome] = {}
    if state_dir is None:
        return outcomes
    for command in COMMANDS:
        path = outcome_path(state_dir, command)
        try:
            outcomes[command] = RolloutOutcome.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            continue
        except (OSError, ValidationError) as exc:
            log.warning("rollout_outcome_unreadable", path=str(path), error=type(exc).__name__)
    return outcomes
