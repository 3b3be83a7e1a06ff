"""Scheduling: when each probe runs, and whether its result is emitted.

    timetable.py        pure: next run times, jitter, no overlap; fingerprints, heartbeats
    runner.py           the Scheduler: drives the timetable with the real clock, emits events
    emission_state.py   what each probe last emitted, kept across restarts (SQLite)
    probe_jobs.py       the probe plan as scheduler jobs: the one place probes meet scheduling

The runner emits through the `submit` callback the service gives it: nothing here writes the
outbox (the emission state borrows only its SQLite thread, `delivery/outbox/dbthread.py`).
"""
