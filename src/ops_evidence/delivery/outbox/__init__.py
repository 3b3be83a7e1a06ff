"""The durable outbox: events are committed here before any delivery is attempted."""

from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.memory import MemoryOutbox
from ops_evidence.delivery.outbox.models import Delivery, NewDelivery, Result, Stats, StoredEvent
from ops_evidence.delivery.outbox.sqlite import SqliteOutbox

__all__ = [
    "Delivery",
    "MemoryOutbox",
    "NewDelivery",
    "Outbox",
    "Result",
    "SqliteOutbox",
    "Stats",
    "StoredEvent",
]
