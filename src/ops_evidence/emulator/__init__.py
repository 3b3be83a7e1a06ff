"""Inter-Hub and State Hub emulator: a faithful, inspectable stand-in for both downstreams.

`create_app()` serves Inter-Hub `/api/v2`, State Hub (`/state/health`, `/progress/`) and
the admin routes under `/_emulator/`; `ops-evidence emulate` runs it with uvicorn.
"""

from ops_evidence.emulator.app import create_app, emulator_state
from ops_evidence.emulator.config import EmulatorConfig, load_config

__all__ = ["EmulatorConfig", "create_app", "emulator_state", "load_config"]
