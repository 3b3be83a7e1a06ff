"""What the service's listener answers: /healthz, /readyz, /metrics and a status page at /."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from ops_evidence import __version__
from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.models import BACKLOG_STATUSES, DEFERRED, Stats
from ops_evidence.events.gate_catalog import GateStatus
from ops_evidence.events.types import ReadinessGateAttributes, ReadinessGateUpdated
from ops_evidence.http.listener import Handler, Reply
from ops_evidence.probes.readiness.evaluation import evaluate_waves
from ops_evidence.schedule.runner import RunRecord
from ops_evidence.service.metrics import Metrics


@dataclass
class ServiceView:
    """What the listener shows; filled in by the service as parts come up."""

    metrics: Metrics
    outbox: Outbox | None = None
    results: dict[str, RunRecord] = field(default_factory=dict)
    probes: list[tuple[str, str]] = field(default_factory=list)
    sinks: dict[str, str] = field(default_factory=dict)
    ready: bool = False
    started_at: float = field(default_factory=time.time)


def _json(status: int, body: dict[str, str]) -> Reply:
    return Reply(status, "application/json", json.dumps(body).encode())


def routes(view: ServiceView) -> dict[str, Handler]:
    """The listener's routes, by exact path."""

    async def healthz() -> Reply:
        # Answering at all proves the event loop is alive.
        return _json(200, {"status": "ok"})

    async def readyz() -> Reply:
        if not view.ready or view.outbox is None:
            return _json(503, {"status": "starting"})
        return _json(200, {"status": "ready"})

    async def metrics() -> Reply:
        if view.outbox is not None and view.ready:
            await view.metrics.refresh(view.outbox)
        return Reply(200, CONTENT_TYPE_LATEST, view.metrics.render())

    async def status() -> Reply:
        stats = None
        if view.outbox is not None and view.ready:
            stats = await view.outbox.stats()
        page = render_status(view, stats, time.time())
        return Reply(200, "text/html; charset=utf-8", page.encode())

    return {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics, "/": status}


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem}"
    "table{border-collapse:collapse;width:100%;margin-bottom:1.5rem;font-size:.9rem}"
    "td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}"
    ".ok{color:#176f2c}.bad{color:#b00020}.wait{color:#8a6d00}"
    "@media(max-width:40rem){td:nth-child(2),th:nth-child(2){display:none}}"
)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _probe_row(key: str, event_type: str, record: RunRecord | None, now: float) -> list[str]:
    if record is None:
        return [key, event_type, '<span class="wait">not run yet</span>', "", ""]
    if record.event is None:
        verdict, reason = '<span class="bad">error</span>', record.error or ""
    else:
        attrs = record.event.attributes
        css = {"verified": "ok", "failed": "bad"}.get(attrs.verdict, "wait")
        verdict = f'<span class="{css}">{attrs.verdict}</span>'
        reason = " — ".join(x for x in (attrs.reason, attrs.message) if x)
    return [key, event_type, verdict, html.escape(reason), _age(now - record.started)]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_STATUS_CLASS = {
    "ready": "ok",
    "blocked": "bad",
    "partial": "wait",
    "unknown": "",
    "exempt": "wait",
}


def _status(status: str, exempt: bool = False) -> str:
    # An exemption is never shown as a plain `ready`.
    text = f"{status} (exempt)" if exempt and status == "ready" else status
    css = "wait" if exempt else _STATUS_CLASS.get(status, "")
    return f'<span class="{css}">{html.escape(text)}</span>'


def _gates(view: ServiceView) -> list[str]:
    """The readiness gates (from the readiness probes' last events) and the waves they add up to."""
    keys = [k for k, t in view.probes if t == ReadinessGateUpdated.EVENT_TYPE]
    if not keys:
        return []
    rows, statuses = [], dict[str, GateStatus]()
    for key in keys:
        record = view.results.get(key)
        attrs = record.event.attributes if record and record.event else None
        if not isinstance(attrs, ReadinessGateAttributes):
            rows.append([html.escape(key), "", '<span class="wait">not evaluated yet</span>', ""])
            continue
        statuses[attrs.gate] = attrs.status
        reasons = html.escape("; ".join(attrs.reasons))
        rows.append(
            [
                html.escape(attrs.gate),
                html.escape(attrs.name),
                _status(attrs.status, attrs.exempt),
                reasons,
            ]
        )
    waves = [
        [
            html.escape(w.wave.id),
            w.label,
            _status(w.status),
            html.escape(", ".join(f"{g} {s}" for g, s in w.gates.items())),
        ]
        for w in evaluate_waves(statuses)
    ]
    return [
        "<h2>Readiness gates</h2>",
        _table(["gate", "name", "status", "reasons"], rows),
        "<h2>Migration waves</h2>",
        _table(["wave", "ready", "status", "gates"], waves),
    ]


def _backlog(stats: Stats | None, now: float) -> str:
    """One line on the outbox's backlog: due rows apart from deferred ones."""
    if stats is None:
        return ""
    total = {s: sum(c[s] for c in stats.backlog().values()) for s in BACKLOG_STATUSES}
    oldest = stats.oldest_pending_at
    age = "none" if oldest is None else f"{_age(max(0.0, now - oldest))} ago"
    return (
        f"<p>backlog: {total['pending']} pending, {total['retrying']} retrying "
        f"(oldest due {age}); {total[DEFERRED]} deferred · {stats.events} events, "
        f"{stats.refused_full} refused (outbox full)</p>"
    )


def render_status(view: ServiceView, stats: Stats | None, now: float) -> str:
    """The server-rendered status page (no JavaScript); `stats` None before start-up."""
    counts = {} if stats is None else stats.by_sink_status
    probes = [_probe_row(k, t, view.results.get(k), now) for k, t in view.probes]
    probes = [[html.escape(row[0]), html.escape(row[1]), *row[2:]] for row in probes]
    sinks = [[html.escape(name), html.escape(state)] for name, state in view.sinks.items()]
    outbox = [[html.escape(s), html.escape(st), str(n)] for (s, st), n in sorted(counts.items())]
    parts: list[Any] = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>ops-evidence</title><style>{_STYLE}</style></head><body>",
        f"<h1>ops-evidence {__version__}</h1>",
        f"<p>{'ready' if view.ready else 'starting'} · up {_age(now - view.started_at)}</p>",
        "<h2>Probes</h2>",
        _table(["probe", "event type", "verdict", "reason", "age"], probes),
        *_gates(view),
        "<h2>Sinks</h2>",
        _table(["sink", "state"], sinks),
        "<h2>Outbox</h2>",
        _backlog(stats, now),
        _table(["sink", "status", "count"], outbox),
        "</body></html>",
    ]
    return "".join(parts)
