"""Checks that need the whole inventory: duplicate ids and dangling references."""

from __future__ import annotations

from collections.abc import Iterator

from ops_evidence.events.gate_catalog import load_catalog
from ops_evidence.inventory.models import SECTIONS, Inventory

Loc = tuple[str | int, ...]

# (section, field, target section) for every reference an entity can make.
_REFERENCES = (
    ("hosts", "environment", "environments"),
    ("clusters", "environment", "environments"),
    ("services", "environment", "environments"),
    ("services", "host", "hosts"),
    ("services", "cluster", "clusters"),
    ("endpoints", "service", "services"),
    ("endpoints", "environment", "environments"),
    ("access_paths", "environment", "environments"),
    ("access_paths", "host", "hosts"),
    ("access_paths", "cluster", "clusters"),
    ("backups", "environment", "environments"),
    ("backups", "service", "services"),
)


def reference_problems(inventory: Inventory) -> Iterator[tuple[Loc, str]]:
    """Yield (location, message) for duplicate ids, references to unknown entities and
    manual evidence or exemptions for gates the catalog does not have."""
    ids: dict[str, set[str]] = {}
    for section in SECTIONS:
        seen: dict[str, int] = {}
        for index, entity in enumerate(getattr(inventory, section)):
            if entity.id in seen:
                yield (
                    (section, index, "id"),
                    f"duplicate id {entity.id!r} (first at {section}[{seen[entity.id]}])",
                )
            seen.setdefault(entity.id, index)
        ids[section] = set(seen)
    for section, field, target in _REFERENCES:
        for index, entity in enumerate(getattr(inventory, section)):
            ref = getattr(entity, field)
            if ref is not None and ref not in ids[target]:
                singular = target.rstrip("s").replace("_", " ")
                owner = section[:-1].replace("_", " ")
                yield (
                    (section, index, field),
                    f"{owner} {entity.id!r} refers to unknown {singular} {ref!r}",
                )
    yield from _unknown_gates(inventory)


def _unknown_gates(inventory: Inventory) -> Iterator[tuple[Loc, str]]:
    """Manual evidence or exemptions for gate ids the catalog does not have."""
    known_gates = load_catalog().gate_ids()
    for section in ("gates", "exemptions"):
        for gate_id in getattr(inventory, section):
            if gate_id not in known_gates:
                known = f"{known_gates[0]}…{known_gates[-1]}"
                yield ((section, gate_id), f"unknown gate {gate_id!r} (the catalog has {known})")
