"""Logs: JSON lines with context, redacted before rendering, tracebacks without locals."""

from __future__ import annotations

import io
import json

from ops_evidence.logging import configure_logging, get_logger
from ops_evidence.redact import register_secret


def test_json_lines_are_redacted() -> None:
    """A registered key and token-like values never reach the rendered line."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    register_secret("canary-key-abcdef")
    get_logger(sink="inter-hub").info(
        "event_delivered",
        url="https://u:pw-canary@h.test/x?token=q-canary",
        note="canary-key-abcdef",
    )
    line = json.loads(stream.getvalue().strip())
    assert line["event"] == "event_delivered"
    assert line["sink"] == "inter-hub"
    assert line["level"] == "info"
    text = stream.getvalue()
    for canary in ("pw-canary", "q-canary", "canary-key-abcdef"):
        assert canary not in text


def test_tracebacks_are_dicts_without_locals() -> None:
    """An exception is logged as a structured traceback, without local variables."""
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    secret_local = "canary-local-value-xyz"
    try:
        raise RuntimeError("boom " + "password=" + secret_local)
    except RuntimeError:
        get_logger().exception("probe_failed")
    line = json.loads(stream.getvalue().strip())
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert "locals" not in line["exception"][0]["frames"][0]
    assert secret_local not in stream.getvalue()


def test_level_filters() -> None:
    """Below the configured level nothing is written."""
    stream = io.StringIO()
    configure_logging("warning", "json", stream)
    get_logger().info("quiet")
    assert stream.getvalue() == ""


def test_loggers_made_before_configuration_follow_it() -> None:
    """A module-level logger created before configure_logging renders with the later config."""
    early = get_logger(component="early")
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    early.info("after_configure")
    line = json.loads(stream.getvalue().strip())
    assert (line["event"], line["component"]) == ("after_configure", "early")
