"""HTTP plumbing shared by the stages (no stage's logic).

    cookieless.py     an httpx client without a cookie jar (probes and sinks)
    trust.py          TLS client contexts, one per distinct need, shared
    listener.py       the service's own small HTTP/1.1 server (h11) for its GET routes
    embedded_asgi.py  uvicorn inside a caller's task group (the demo's emulator and targets)

The client transports stay with their users (`checks/transport.py`,
`delivery/sinks/transport.py`).
"""
