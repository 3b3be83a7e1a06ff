"""The operator's declared inventory: models, loading and validation."""

from ops_evidence.inventory.loader import load_inventory
from ops_evidence.inventory.models import Inventory

__all__ = ["Inventory", "load_inventory"]
