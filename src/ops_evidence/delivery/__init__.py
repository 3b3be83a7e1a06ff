"""Delivery: from a new event to an answer from Inter-Hub (or State Hub as the safety path).

    first_sink.py  which sink an event goes to first, and why, from the settings alone
    router.py      the Router: an event's outbox rows at enqueue; an attempt's outcome after
    backoff.py     retry timing: exponential backoff with full jitter, `Retry-After`, horizon
    dispatcher.py  drains due deliveries from the outbox to the sinks
    factory.py     builds outbox and sinks from the settings
    outbox/        the durable queue (SQLite; in memory for tests)
    sinks/         one client per destination, and the HTTP they share

Nothing here knows the inventory, the checks or the probes: it carries events, whatever made
them (the import-linter contracts in pyproject.toml keep it so).
"""
