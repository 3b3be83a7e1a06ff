"""The gate catalog and the migration waves, loaded from `gate_catalog.yaml` (package data).

Part of the event contract: a gate event's `gate` is one of these ids and its `status` a
`GateStatus`. The inventory's `gates:` (manual evidence) and `exemptions:` sections name the
same ids, and the readiness probe (`probes/readiness/`) evaluates them.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

# What evidence (a rule, manual evidence, the seed) can say about a gate.
SeedStatus = Literal["unknown", "partial", "blocked", "ready"]
# What a gate event can say: also `exempt`, which only an active exemption in the inventory
# gives (`probes.readiness.evaluation`); no rule, seed or attestation can claim it.
GateStatus = Literal["unknown", "partial", "blocked", "ready", "exempt"]
GATE_ID_PATTERN = r"^OPS-G[0-9]{2}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Frozen):
    """Which evidence rule decides a gate, and its parameters."""

    kind: Literal[
        "environments",
        "service-catalog",
        "registry-endpoint",
        "backups",
        "health-checks",
        "inter-hub-bootstrap",
        "restore-drills",
    ]
    environments: tuple[str, ...] = Field(
        default=(), description="`environments`: the environment ids that must be declared."
    )
    stores: tuple[str, ...] = Field(
        default=(), description="`restore-drills`: the stores that need a recent passed drill."
    )


class Gate(_Frozen):
    """One readiness gate of the seed."""

    id: str = Field(pattern=GATE_ID_PATTERN)
    name: str
    owners: tuple[str, ...]
    requirement: str
    seed_status: SeedStatus
    rule: Rule | None = None
    manual_part: str | None = Field(
        default=None, description="What the rule cannot see; `ready` also needs manual evidence."
    )


class Wave(_Frozen):
    """A migration wave: ready when every one of its gates is."""

    id: str
    goal: str
    gates: tuple[str, ...]
    notes: str | None = None


class Catalog(_Frozen):
    """The whole catalog: gates in seed order, then waves."""

    seed_date: date
    gates: tuple[Gate, ...]
    waves: tuple[Wave, ...]

    @model_validator(mode="after")
    def _waves_name_known_gates(self) -> Self:
        ids = [g.id for g in self.gates]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate gate id")
        unknown = {g for w in self.waves for g in w.gates} - set(ids)
        if unknown:
            raise ValueError(f"waves name unknown gates: {sorted(unknown)}")
        return self

    def gate(self, gate_id: str) -> Gate:
        """The gate with this id; KeyError when there is none."""
        for gate in self.gates:
            if gate.id == gate_id:
                return gate
        raise KeyError(gate_id)

    def gate_ids(self) -> list[str]:
        """Every gate id, in catalog order."""
        return [g.id for g in self.gates]

    def waves_of(self, gate_id: str) -> list[str]:
        """The waves that require a gate."""
        return [w.id for w in self.waves if gate_id in w.gates]


def parse_catalog(data: Any) -> Catalog:
    """Validate catalog data (a parsed YAML document)."""
    return Catalog.model_validate(data)


@functools.cache
def load_catalog() -> Catalog:
    """The shipped catalog (read once; it is immutable package data)."""
    text = resources.files("ops_evidence.events").joinpath("gate_catalog.yaml").read_text("utf-8")
    return parse_catalog(yaml.safe_load(text))
