"""The demo's targets: local stand-ins for what the demo inventory declares, and that inventory.

`INVENTORY` is a template: `{targets}` (the targets' base URL), `{targets_port}` and
`{backups}` (a folder of dumps) are filled in by whoever serves `targets_app()` (the demo,
bench/footprint.py, the `run` process tests).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

INVENTORY = """\
version: 1
name: demo
defaults: {{interval: 10s, timeout: 5s, heartbeat: 1m, backup_max_age: 1h}}
environments:
  - {{id: demo-local, role: Demo environment on this machine, lifecycle: active, owner: you}}
services:
  - id: demo-gitea
    environment: demo-local
    owner_repo: demo/apps
    lifecycle: active
    version: "1.25.3"
    check: {{kind: http, url: "{targets}/api/healthz", version: {{json_field: version}}}}
endpoints:
  - id: demo-registry
    service: demo-gitea
    url: "{targets}/v2/"
    expect:
      status: 401
      headers: {{Docker-Distribution-Api-Version: registry/2.0}}
access_paths:
  - id: demo-registry-tcp
    environment: demo-local
    check: {{kind: tcp, host: 127.0.0.1, port: {targets_port}}}
backups:
  - id: demo-db-dumps
    environment: demo-local
    service: demo-gitea
    store: demo-db
    min_size: 10B
    check: {{kind: files, path: "{backups}", pattern: "*.sql.gz"}}
"""


def targets_app() -> Starlette:
    """Local stand-ins for the demo's targets."""

    async def registry(_: Request) -> Response:
        return JSONResponse(
            {"errors": [{"code": "UNAUTHORIZED"}]},
            status_code=401,
            headers={
                "Docker-Distribution-Api-Version": "registry/2.0",
                "WWW-Authenticate": 'Bearer realm="demo"',
            },
        )

    async def health(_: Request) -> Response:
        # Deliberately newer than the inventory declares, so drift has something to show.
        return JSONResponse({"status": "ok", "version": "1.25.4"})

    return Starlette(routes=[Route("/v2/", registry), Route("/api/healthz", health)])
