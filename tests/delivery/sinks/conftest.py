"""Sink fixtures: the Inter-Hub client on a fresh emulator, in-process or over loopback HTTP."""

from __future__ import annotations

from tests.inter_hub_clients import hub_on, mode  # noqa: F401 - fixtures, used by name
