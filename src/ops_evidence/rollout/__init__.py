"""Rollout tools: `gate-probe`, `seed-widgets` and `smoke` (the go-live gates this service owns).

    preflight.py     `gate-probe`: can this service submit evidence to Inter-Hub now?
    seed_widgets.py  `seed-widgets`: the widgets the mapping needs, created or found
    smoke.py         `smoke`: each declared event type accepted, an undeclared one refused
    smoke_events.py  the sample events `smoke` posts

They talk to Inter-Hub through the client the sink uses too
(`delivery/sinks/inter_hub_client.py`: auth, the key's transport rule, pagination, errors).

Each module holds the logic and returns a report as data; `ops_evidence.cli` prints it.
`--record` verdicts go to `probes/readiness/rollout_outcomes.py`, the evidence of OPS-G15.
"""
