"""Probes: one module per event type, composed from `ops_evidence.checks` and the inventory.

See `plan.py` and `registry.py` for the seam the scheduler uses (`plan`, `run_probe`).
The registry's names are loaded on first use: it imports every probe module and its checks,
which a command reaching only `probes.readiness.rollout_outcomes` (`seed-widgets`, `smoke`)
or the plan should not pay.
"""

from typing import TYPE_CHECKING, Any

from ops_evidence.probes.base import MemoryObservations, Observations, ProbeContext, ProbeTarget
from ops_evidence.probes.plan import derived, find_target, plan

if TYPE_CHECKING:
    from ops_evidence.probes.registry import observe, probes, run_probe

_REGISTRY = ("observe", "probes", "run_probe")


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from ops_evidence.probes import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "run_probe",
]
