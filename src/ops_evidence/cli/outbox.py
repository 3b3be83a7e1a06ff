"""`ops-evidence outbox stats | list | replay | export | drain`: inspect and recover the outbox."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from ops_evidence.cli.common import print_json, print_table
from ops_evidence.config.settings import Settings, load_settings
from ops_evidence.delivery.factory import open_outbox, outbox_path
from ops_evidence.delivery.outbox.base import Outbox
from ops_evidence.delivery.outbox.models import REPLAYABLE, Delivery
from ops_evidence.errors import UsageError
from ops_evidence.events.registry import parse_event
from ops_evidence.events.wire import canonical_json, interaction_event_body
from ops_evidence.logging import configure_logging

PAGE = 500


def register(sub: Any) -> None:
    """Add `outbox` and its actions."""
    parser = sub.add_parser("outbox", help="inspect, replay, export or drain the outbox")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    stats = actions.add_parser("stats", help="backlog and counts per sink and status")
    stats.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="deliveries, newest state first")
    replay = actions.add_parser("replay", help="make final deliveries pending again")
    export = actions.add_parser("export", help="write events and deliveries as JSON lines")
    for p in (listing, replay, export):
        p.add_argument("--status", help="only deliveries with this status")
        p.add_argument("--sink", choices=["inter-hub", "state-hub", "stdout"])
        p.add_argument("--key", help="only this idempotency key")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    drain = actions.add_parser("drain", help="service stopped: deliver what is due, exit")
    drain.add_argument("--timeout", type=float, default=300.0, help="give up after SECONDS")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.action != "drain" and not outbox_path(settings).exists():
        raise UsageError(f"no outbox at {outbox_path(settings)} (OPS_EVIDENCE_STATE_DIR)")
    handler = {"stats": _stats, "list": _list, "replay": _replay, "export": _export}.get(
        args.action
    )
    if handler is None:
        from ops_evidence.cli.drain import drain

        return drain(settings, args.timeout)
    return anyio.run(_with_outbox, settings, handler, args)


async def _with_outbox(settings: Settings, handler: Any, args: argparse.Namespace) -> int:
    outbox = open_outbox(settings)
    # These actions may run beside `ops-evidence run`: its leases are its in-flight work.
    await outbox.open(release_leases=False)
    try:
        result: int = await handler(outbox, args, settings)
        return result
    finally:
        await outbox.close()


async def _stats(outbox: Outbox, args: argparse.Namespace, _: Settings) -> int:
    stats = await outbox.stats()
    oldest = None if stats.oldest_pending_at is None else time.time() - stats.oldest_pending_at
    backlog = stats.backlog()
    if args.json:
        print_json(
            {
                "events": stats.events,
                "refused_full": stats.refused_full,
                "oldest_pending_age_seconds": oldest,
                "backlog": backlog,
                "deliveries": [
                    {"sink": k[0], "status": k[1], "count": v}
                    for k, v in sorted(stats.by_sink_status.items())
                ],
            }
        )
        return 0
    print(f"events: {stats.events}   refused (outbox full): {stats.refused_full}")
    print(
        f"oldest pending (due to be retried): {'none' if oldest is None else f'{oldest:.0f}s ago'}"
    )
    for sink, counts in backlog.items():
        print(f"backlog {sink}: " + ", ".join(f"{s} {n}" for s, n in counts.items()))
    print_table(
        ["sink", "status", "count"],
        [(s, st, n) for (s, st), n in sorted(stats.by_sink_status.items())],
    )
    return 0


async def _iter(
    outbox: Outbox, args: argparse.Namespace, limit: int | None = None
) -> list[Delivery]:
    rows: list[Delivery] = []
    after = None
    while limit is None or len(rows) < limit:
        page = await outbox.deliveries(
            status=args.status, sink=args.sink, key=args.key, limit=PAGE, after=after
        )
        rows.extend(page)
        if len(page) < PAGE:
            break
        after = (page[-1].key, page[-1].sink)
    return rows if limit is None else rows[:limit]


def _row(d: Delivery) -> dict[str, Any]:
    return {
        "key": d.key,
        "sink": d.sink,
        "status": d.status,
        "attempts": d.attempts,
        "event_type": d.event_type,
        "context_key": d.context_key,
        "widget_id": d.widget_id,
        "next_attempt_at": d.next_attempt_at,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "last_http_status": d.last_http_status,
        "last_error": d.last_error,
        "ambiguous": d.ambiguous,
    }


async def _list(outbox: Outbox, args: argparse.Namespace, _: Settings) -> int:
    rows = await _iter(outbox, args, args.limit)
    if args.json:
        print_json([_row(d) for d in rows])
        return 0
    print_table(
        ["key", "sink", "status", "attempts", "http", "last error"],
        [
            (
                d.key,
                d.sink,
                d.status,
                d.attempts,
                d.last_http_status or "",
                (d.last_error or "")[:60],
            )
            for d in rows
        ],
    )
    return 0


async def _replay(outbox: Outbox, args: argparse.Namespace, settings: Settings) -> int:
    if args.status is not None and args.status not in REPLAYABLE:
        raise UsageError(f"--status {args.status} is not replayable; one of {sorted(REPLAYABLE)}")
    rows = [d for d in await _iter(outbox, args) if d.status in REPLAYABLE]
    if settings.inter_hub_url is None or settings.ops_hub_key is None:
        skipped = [d for d in rows if d.sink == "inter-hub"]
        rows = [d for d in rows if d.sink != "inter-hub"]
        if skipped:
            print(f"skipped {len(skipped)} inter-hub deliveries: INTER_HUB_URL/OPS_HUB_KEY not set")
    bodies = {}
    for d in rows:
        if d.sink == "inter-hub" and d.body is None:
            body = await _inter_hub_body(outbox, d, settings)
            if body is not None:
                bodies[(d.key, d.sink)] = body
    count = await outbox.replay([(d.key, d.sink) for d in rows], bodies, time.time())
    print(
        f"replayed {count} deliveries; a running `ops-evidence run` delivers them within about "
        "5 s (with the service stopped: `outbox drain`)"
    )
    return 0


async def _inter_hub_body(
    outbox: Outbox, d: Delivery, settings: Settings
) -> tuple[bytes, str] | None:
    """Build the Inter-Hub body for a row that never had one (no widget at the time)."""
    mapping = settings.widget_mapping
    widget = mapping.widget_for(d.event_type, d.context_key) if mapping else None
    stored = await outbox.event(d.key)
    if widget is None or stored is None:
        return None
    event = parse_event(json.loads(stored.event_json))
    return canonical_json(interaction_event_body(event, widget)), widget


async def _export(outbox: Outbox, args: argparse.Namespace, _: Settings) -> int:
    rows = await _iter(outbox, args)
    out = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for d in rows:
            stored = await outbox.event(d.key)
            line = _row(d) | {"event": json.loads(stored.event_json) if stored else None}
            out.write(json.dumps(line, sort_keys=True) + "\n")
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"exported {len(rows)} deliveries to {args.out}")
    return 0
