"""The long-running service: every stage on one task group, and what it shows.

lifecycle.py  the Service: wires outbox, router, sinks, dispatcher, scheduler and
              listener; start-up and shutdown order
web.py        what the listener answers: /healthz, /readyz, /metrics, the status page
metrics.py    Prometheus metrics on a private registry
heap.py       giving freed heap memory back to the OS (`malloc_trim`), `gc.freeze`
"""
