"""Readiness gates OPS-G01…G15 and migration waves, evaluated from evidence.

    probe.py             the `ops-readiness-gate-updated` probe: one target per catalog gate
    rules.py             the evidence rules that can decide a gate (one per `rule.kind`)
    evaluation.py        rule + manual evidence -> each gate's status and reasons; waves
    rollout_outcomes.py  the recorded `gate-probe` / `smoke` verdicts that rule OPS-G15 reads

The gates and waves themselves (the catalog, shipped as package data) are part of the event
contract: `events/gate_catalog.py`. The rollout commands write their outcomes through
`rollout_outcomes`; it lives here, beside the one rule that reads them, so that the probes
never import the rollout tools.
"""
