"""Rollout tools: `gate-probe`, `seed-widgets` and `smoke` (the go-live gates this service owns).

Each module holds the logic and returns a report as data; `ops_evidence.cli` prints it.
"""
