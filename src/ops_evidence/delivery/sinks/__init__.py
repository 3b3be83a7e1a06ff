"""Delivery sinks: Inter-Hub (primary), State Hub progress (fallback), stdout (dry run)."""

from ops_evidence.delivery.sinks.base import Attempt, Sink

__all__ = ["Attempt", "Sink"]
