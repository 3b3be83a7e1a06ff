"""Delivery: from a new event to an answer from Inter-Hub (or State Hub as the safety path).

    first_sink.py  which sink an event goes to first, and why, and whether submission is off:
                   decided here alone, from the settings
    planner.py     an event's outbox rows at enqueue (each Inter-Hub row with its fallback seed)
    outcomes.py    what an attempt's outcome means at dispatch, and the fallback from the row
    fallback.py    the State Hub fallback delivery both build from a seed
    router.py      the Router: a planner and an outcome policy on the same settings
    backoff.py     retry timing: exponential backoff with full jitter, `Retry-After`, horizon
    dispatcher.py  drains due deliveries from the outbox to the sinks
    factory.py     builds outbox and sinks from the settings
    outbox/        the durable queue (SQLite; in memory for tests)
    sinks/         one client per destination, and the HTTP they share

Nothing here knows the inventory, the checks or the probes: it carries events, whatever made
them (the import-linter contracts in pyproject.toml keep it so).
"""
