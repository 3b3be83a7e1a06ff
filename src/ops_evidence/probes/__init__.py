"""Probes: one module per event type, composed from `ops_evidence.checks` and the inventory.

See `registry.py` for the seam the scheduler uses (`plan`, `run_probe`).
"""

from ops_evidence.probes.base import MemoryObservations, Observations, ProbeContext, ProbeTarget
from ops_evidence.probes.registry import (
    derived,
    find_target,
    observe,
    plan,
    probes,
    register_probe,
    run_probe,
)

__all__ = [
    "MemoryObservations",
    "Observations",
    "ProbeContext",
    "ProbeTarget",
    "derived",
    "find_target",
    "observe",
    "plan",
    "probes",
    "register_probe",
    "run_probe",
]
