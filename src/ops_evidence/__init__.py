"""ops-evidence: probes an operations inventory and delivers redacted evidence events."""

__version__ = "0.1.0"
