"""The evidence-event contract: envelope, the declared types, schemas and wire bodies."""

from ops_evidence.events.envelope import EvidenceEvent, idempotency_key, new_run_id
from ops_evidence.events.registry import event_model, event_types, parse_event

__all__ = [
    "EvidenceEvent",
    "event_model",
    "event_types",
    "idempotency_key",
    "new_run_id",
    "parse_event",
]
