"""ops-evidence: probes an operations inventory and delivers redacted evidence events."""

import sys
import types

__version__ = "0.1.0"

# httpx's package init tries to load its command-line client (`httpx._main`), which imports
# click first and only then fails on the absent pygments and rich: click stays loaded, 1.0 MiB
# of RSS the service never uses (measured, image-like venv, 2026-12-04), and the idle bar is
# 60 MB. Stand in for that module before httpx is imported; `httpx.main` then says what to
# install instead of failing half-loaded. The emulator and the demo import click through
# uvicorn as before: this only spares what httpx would load for nothing.
if "httpx" not in sys.modules:
    _cli = types.ModuleType("httpx._main", "ops-evidence: httpx's CLI is not loaded.")

    def _no_cli() -> None:
        raise SystemExit("the httpx command-line client is not loaded by ops-evidence")

    _cli.main = _no_cli  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", _cli)
