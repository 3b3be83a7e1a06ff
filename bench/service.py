"""CPU per probe of the running service vs blackbox_exporter: same target, same rate, same run.

The whole service path: a real `ops-evidence run` process (installed as the image installs
it, see footprint.py) with 1,000 `ops-endpoint-verified` endpoints at a 10 s interval, so
scheduler → probe → emission decision → outbox, all against one loopback nginx `/v2/`
(`401`, `Docker-Distribution-Api-Version: registry/2.0`, the expectation probes.py uses).
At the same time and against the same nginx, blackbox_exporter is driven at the same rate
(1,000 `/probe` requests per 10 s, evenly spread, from a bounded loop over one keep-alive
connection). After a warm-up, over one window: utime + stime of each process
(`/proc/<pid>/stat`) divided by the probes it completed in that window (the service's
`ops_evidence_probe_runs_total`; the exporter's answered `/probe` requests, each checked to
have succeeded). nginx, the driver and the emulator (State Hub, in this process) count for
neither.

`--profile FILE` also samples the service with py-spy over the last run's window and prints
where its CPU goes: functions by own and by cumulative share, and subsystems. By default
`record --nonblocking` (the process is never stopped; py-spy itself runs on the other core);
`--blocking` pauses it for each sample, which gives exact stacks but slows the service, so
that run's CPU figures are not comparable.

    uv run python bench/service.py [--runs 3] [--probes 1000] [--warmup 30] [--window 60]
    uv run python bench/service.py --runs 1 --profile /tmp/service.raw [--blocking]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests' server launchers

from tests.servers import serve_asgi

from footprint import TICKS, image_python, metric, start, synthetic, wait_runs
from ops_evidence.emulator import create_app
from probes import nginx_and_blackbox

INTERVAL = 10.0
ENDPOINT = "ops-endpoint-verified"


class Driver(threading.Thread):
    """Drives blackbox_exporter at `rate` probes a second, evenly spread; bounded by `limit`."""

    def __init__(self, port: int, url: str, rate: float, limit: int) -> None:
        super().__init__(daemon=True)
        self.port, self.params = port, {"module": "registry401", "target": url}
        self.rate, self.limit = rate, limit
        self.done = self.failed = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", trust_env=False) as client:
            t0 = time.monotonic()
            for n in range(self.limit):
                delay = t0 + n / self.rate - time.monotonic()
                if self.stopping.wait(max(delay, 0)):  # the schedule's pace, and the stop
                    return
                answer = client.get("/probe", params=self.params, timeout=10)
                if "probe_success 1" in answer.text:
                    self.done += 1
                else:
                    self.failed += 1


def inventory(url: str, count: int) -> dict[str, Any]:
    """footprint's synthetic inventory, expecting the header blackbox_exporter checks too."""
    data = synthetic(url.removesuffix("/v2/"), count)
    for endpoint in data["endpoints"]:
        endpoint["expect"]["headers"] = {"Docker-Distribution-Api-Version": "registry/2.0"}
    return data


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def runs_by_kind(listen: str) -> Counter[tuple[str, str]]:
    """Completed probe runs by event type and verdict, from the service's /metrics."""
    out: Counter[tuple[str, str]] = Counter()
    for labels, value in metric(listen, "ops_evidence_probe_runs_total").items():
        out[dict(labels)["event_type"], dict(labels)["verdict"]] += int(value)
    return out


def one_run(
    python: str, hub: str, url: str, blackbox: tuple[int, int], args: argparse.Namespace
) -> dict[str, Any]:
    """Start the service, warm up, measure both sides over one window (and maybe profile)."""
    port, bb_pid = blackbox
    with tempfile.TemporaryDirectory() as tmp:
        proc, listen = start(python, inventory(url, args.probes), hub, Path(tmp))
        try:
            wait_runs(listen, args.probes, deadline=180)  # the first round: every event emitted
            rate = args.probes / INTERVAL
            driver = Driver(port, url, rate, int(rate * (args.warmup + args.window + 30)))
            driver.start()
            time.sleep(args.warmup)  # warm-up: the outbox drains, both sides reach steady state
            spy = profiler(proc.pid, args) if args.profile else None
            t0, runs0 = time.monotonic(), runs_by_kind(listen)
            ours0, theirs0, bb0 = cpu_split(proc.pid), cpu_split(bb_pid), driver.done
            time.sleep(args.window)  # the measurement window itself
            (user, system), (bb_user, bb_system) = (
                (b[0] - a[0], b[1] - a[1])
                for a, b in ((ours0, cpu_split(proc.pid)), (theirs0, cpu_split(bb_pid)))
            )
            runs, bb_done = runs_by_kind(listen) - runs0, driver.done - bb0
            elapsed = time.monotonic() - t0
            driver.stopping.set()
            driver.join(timeout=15)
            if spy is not None:
                spy.wait(timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    if driver.failed:
        raise SystemExit(f"failed probes: blackbox {driver.failed}")
    return figures(runs, bb_done, (user, system), (bb_user, bb_system), elapsed)


def figures(
    runs: Counter[tuple[str, str]],
    bb_done: int,
    ours_cpu: tuple[float, float],
    theirs_cpu: tuple[float, float],
    elapsed: float,
) -> dict[str, Any]:
    """One run's row: CPU per probe of each side from their (user, system) CPU seconds."""
    (user, system), (bb_user, bb_system) = ours_cpu, theirs_cpu
    ours, theirs = user + system, bb_user + bb_system
    endpoint = {k: n for k, n in runs.items() if k[0] == ENDPOINT}
    if set(endpoint) - {(ENDPOINT, "verified")}:
        raise SystemExit(f"failed probes: ops-evidence {endpoint}")
    ours_n = sum(endpoint.values())  # the service's other jobs' CPU is counted, not their runs
    ours_ms, theirs_ms = ours / ours_n * 1000, theirs / bb_done * 1000
    rest = sorted((runs - Counter(endpoint)).items())
    others = ", ".join(f"{kind} {verdict}: {n}" for (kind, verdict), n in rest)
    return {
        "others": others,
        "ours_ms": ours_ms,
        "theirs_ms": theirs_ms,
        "ratio": ours_ms / theirs_ms,
        "ours_n": ours_n,
        "theirs_n": bb_done,
        "ours_pct": ours / elapsed * 100,
        "theirs_pct": theirs / elapsed * 100,
        "ours_sys": system / ours,
        "theirs_sys": bb_system / theirs,
    }


def profiler(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` for the window: collapsed stacks, one line per distinct stack."""
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy not found: uv sync (it is a dev dependency)")
    mode = [] if args.blocking else ["--nonblocking"]
    argv = [
        spy,
        "record",
        "--pid",
        str(pid),
        *mode,
        "--format",
        "raw",
        "--function",
        "--rate",
        str(args.rate),
        "--duration",
        str(int(args.window)),
        "--output",
        str(args.profile),
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Subsystems by the frames' files and functions. A sample's *own* subsystem is that of its
# innermost frame that matches one (asyncio, anyio, socket, selectors and threading match
# none, so their time goes to whoever called them); *inclusive* counts a sample for every
# subsystem any of its frames matches. First matching rule wins for a frame.
SUBSYSTEMS = (
    ("redaction", ("ops_evidence/redact.py",)),
    ("logging", ("ops_evidence/logging.py", "structlog/", "logging/__init__.py")),
    ("metrics", ("prometheus_client/", "ops_evidence/service/metrics.py")),
    ("delivery: outbox/SQLite", ("ops_evidence/delivery/", "emission_state.py", "sqlite3/")),
    ("emission decision", ("_maybe_emit (", "fingerprint (", "should_emit (", "event_attributes")),
    ("event model/pydantic", ("pydantic/", "pydantic_core/", "ops_evidence/events/")),
    ("listener (/metrics)", ("ops_evidence/http/listener.py",)),
    (
        "sockets: connect/send/close",
        (
            "sock_connect (",
            "socket.close (",
            "socket.__init__ (",
            "_SelectorSocketTransport.write (",
            "connect_tcp",
        ),
    ),
    ("inventory lookup", ("entity (ops_evidence/probes/base.py", "Inventory.entity")),
    ("probe: httpx/h11/checks", ("httpx/", "h11/", "ops_evidence/checks/", "ops_evidence/http/")),
    ("probe: probes/", ("ops_evidence/probes/",)),
    ("scheduler", ("ops_evidence/schedule/",)),
)


# A database thread blocked in `queue.get()`: never sampled with --nonblocking, but counted as
# active with --blocking (py-spy's idle detection), so left out of the shares.
WAITING = ("DbThread._run (",)


def subsystem(frame: str) -> str | None:
    """The subsystem a frame (`function (path:line)`) belongs to, if any."""
    return next((name for name, keys in SUBSYSTEMS if any(k in frame for k in keys)), None)


def summarise(path: Path, top: int) -> None:
    """Top functions by own and cumulative share, and subsystems, of a py-spy raw profile."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    sub_own: Counter[str] = Counter()
    sub_incl: Counter[str] = Counter()
    total = waiting = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        if frames[-1].startswith(WAITING):
            waiting += n
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            cumulative[frame] += n
        subs = [s for s in map(subsystem, frames) if s]
        sub_own[subs[-1] if subs else "event loop (asyncio: epoll, callbacks)"] += n
        for s in set(subs):
            sub_incl[s] += n
    print(f"\nprofile: {total} samples ({path}); {waiting} of a database thread waiting, left out")
    # The frames every loop sample shares (runpy, the CLI, anyio.run, asyncio's _run_once).
    loop = max((n for f, n in cumulative.items() if "_run_once (" in f), default=total + 1)
    roots = {f for f, n in cumulative.items() if n >= loop}
    views: tuple[tuple[str, Counter[str], set[str]], ...] = (
        ("own", own, set()),
        ("cumulative (loop root frames left out)", cumulative, roots),
    )
    for title, table, skip in views:
        print(f"\ntop {top} by {title} share:")
        for frame, n in [(f, n) for f, n in table.most_common() if f not in skip][:top]:
            print(f"  {n / total * 100:5.1f}%  {frame}")
    print(f"\n{'subsystem':<42} {'own':>6} {'inclusive':>10}")
    for name, n in sub_own.most_common():
        print(f"  {name:<40} {n / total * 100:5.1f}% {sub_incl[name] / total * 100:9.1f}%")


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--probes", type=int, default=1000, help="endpoints, 10 s interval")
    parser.add_argument("--warmup", type=float, default=30.0, help="after the first round (s)")
    parser.add_argument("--window", type=float, default=60.0, help="measurement window (s)")
    parser.add_argument("--venv", choices=("image", "dev"), default="image")
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of the last run's window")
    parser.add_argument(
        "--blocking",
        action="store_true",
        help="py-spy pauses the service for each sample (exact stacks, slower)",
    )
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--summarise", type=Path, help="only summarise this saved raw profile")
    return parser.parse_args()


def main() -> None:
    """Start nginx and blackbox_exporter, measure `--runs` fresh services, print the table."""
    args = arguments()
    if args.summarise:
        summarise(args.summarise, args.top)
        return
    blackbox = shutil.which("prometheus-blackbox-exporter")
    if blackbox is None:
        raise SystemExit("apt-get install prometheus-blackbox-exporter")
    rows, others = measure(blackbox, args)
    if len(rows) > 1:
        median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print_row("median", median)
    print("the service's other runs in the window (their CPU is in its figure):")
    print(*others, sep="\n")
    if args.profile:
        summarise(args.profile, args.top)


def measure(blackbox: str, args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str]]:
    """nginx, blackbox_exporter and the emulator up; `--runs` rows printed as they come."""
    rows, others = [], []
    with tempfile.TemporaryDirectory() as tmp, serve_asgi(create_app()) as hub:
        folder = Path(tmp)
        python = image_python(folder / "venv") if args.venv == "image" else sys.executable
        with nginx_and_blackbox(folder, blackbox) as (url, port, bb_pid):
            print_header()
            for n in range(args.runs):
                profile = args.profile if n == args.runs - 1 else None
                run_args = argparse.Namespace(**vars(args) | {"profile": profile})
                row = one_run(python, hub, url, (port, bb_pid), run_args)
                others.append(f"run {n + 1}: {row.pop('others')}")
                rows.append(row)
                print_row(n + 1, row)
    return rows, others


COLUMNS = (
    "run",
    "ours ms/probe",
    "bb ms/probe",
    "ratio",
    "ours probes",
    "bb probes",
    "ours CPU %",
    "bb CPU %",
    "ours sys %",
    "bb sys %",
)


def print_header() -> None:
    """The table's header: ours = the ops-evidence service, bb = blackbox_exporter."""
    print(" ".join(f"{c:>13}" for c in COLUMNS))


def print_row(run: int | str, r: dict[str, Any]) -> None:
    """One line: CPU ms per probe, ratio, probes in the window, % of a core, system share."""
    cells = (
        f"{r['ours_ms']:.3f}",
        f"{r['theirs_ms']:.3f}",
        f"{r['ratio']:.2f}",
        f"{r['ours_n']:.0f}",
        f"{r['theirs_n']:.0f}",
        f"{r['ours_pct']:.1f}",
        f"{r['theirs_pct']:.1f}",
        f"{r['ours_sys'] * 100:.0f}",
        f"{r['theirs_sys'] * 100:.0f}",
    )
    print(" ".join(f"{c:>13}" for c in (str(run), *cells)), flush=True)


if __name__ == "__main__":
    main()
