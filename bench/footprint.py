"""Footprint of the long-running service: idle RSS and CPU, and scheduling lateness.

Two scenarios, each a real `ops-evidence run` process on loopback:

1. **example**: `examples/railiance.yaml` with every target rewritten to loopback (the
   example names real public hosts, which this bench must never contact): same entities,
   same probe kinds, same schedules. Measured after the first round of probes, while idle.
2. **1000 probes**: 1,000 `ops-evidence-verified` endpoints with a 10 s interval against one
   loopback target; lateness (start time behind schedule) from the service's own histogram.

Both send their evidence to the emulator (served in this process) as the State Hub fallback.

The service runs from an install made the way the Containerfile makes the image's: the locked
runtime dependencies only, the project as a wheel, bytecode compiled (`--venv image`, the
default). `--venv dev` runs it from this interpreter's environment instead (the editable dev
venv, where nothing is compiled when PYTHONDONTWRITEBYTECODE is set): more RSS, see README.

    uv run python bench/footprint.py [--idle 30] [--probes 1000] [--window 60] [--venv dev]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.real_servers import free_port  # noqa: E402
from tests.servers import serve_asgi  # noqa: E402

from ops_evidence.demo.targets import targets_app  # noqa: E402
from ops_evidence.emulator import create_app  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
# The runtime environment the Containerfile sets for Python, so the process measured here
# is configured like the pod's.
IMAGE_ENV = {"PYTHONNODEBUGRANGES": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
# What `ops-evidence run` imports before it reads any configuration: the floor of its RSS.
IMPORTS = (
    "import ops_evidence.cli.run, ops_evidence.schedule.probe_jobs, ops_evidence.checks.dns, "
    "sqlite3, anyio._backends._asyncio"  # anyio loads its event-loop backend on the first run()
)


def image_python(venv: Path) -> str:
    """Install the service into `venv` as the Containerfile's builder stage does; its python."""
    env = os.environ | {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_COMPILE_BYTECODE": "1"}
    # --reinstall-package: uv would otherwise reuse a wheel built from an older source tree;
    # --python: the interpreter running this bench, not whichever one uv finds first.
    subprocess.run(
        [
            "uv",
            "sync",
            "--locked",
            "--no-dev",
            "--no-editable",
            "--quiet",
            "--reinstall-package",
            "ops-evidence",
            "--python",
            sys.executable,
        ],
        cwd=REPO,
        env=env,
        check=True,
    )
    return str(venv / "bin" / "python")


def import_floor_mb(python: str) -> float:
    """RSS (MiB) of a fresh interpreter that has imported what the service imports."""
    code = f"{IMPORTS}; from pathlib import Path; print(Path('/proc/self/status').read_text())"
    # cwd outside the repo, so `ops_evidence` comes from the environment being measured.
    out = subprocess.run(
        [python, "-c", code],
        env=os.environ | IMAGE_ENV,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(int(x.split()[1]) / 1024 for x in out.splitlines() if x.startswith("VmRSS:"))


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def loopback_example(target: str, workdir: Path) -> dict[str, Any]:
    """The example inventory with every URL, host and repository pointed at loopback."""
    data: dict[str, Any] = yaml.safe_load((REPO / "examples" / "railiance.yaml").read_text())

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items()}
            if isinstance(out.get("url"), str):
                out["url"] = target + "/" + out["url"].split("/", 3)[-1]
            if "host" in out and "kind" in out:
                out["host"] = "127.0.0.1"
            if out.get("kind") == "dns":
                out["resolver"] = f"127.0.0.1:{free_port()}"  # nothing answers: a fast failure
            # A backup check's repository (it has a `kind`), not a publish's scratch repository.
            if ("repository" in out and "kind" in out) or out.get("kind") == "files":
                out.update(
                    {"repository": str(workdir / "repo")}
                    if "repository" in out
                    else {"path": str(workdir)}
                )
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    return dict(rewrite(data))


def synthetic(target: str, count: int) -> dict[str, Any]:
    """`count` endpoints with a 10 s interval against one loopback target."""
    return {
        "version": 1,
        "name": "synthetic",
        "defaults": {"interval": "10s", "timeout": "5s", "heartbeat": "1h"},
        "environments": [{"id": "bench", "role": "bench"}],
        "services": [{"id": "target", "environment": "bench"}],
        "endpoints": [
            {"id": f"e{n}", "service": "target", "url": f"{target}/v2/", "expect": {"status": 401}}
            for n in range(count)
        ],
    }


def start(
    python: str, inventory: dict[str, Any], hub: str, workdir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `ops-evidence run` on the inventory; returns the process and its listen address."""
    path = workdir / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory))
    listen = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPS_", "INTER_HUB"))}
    env |= {
        "OPS_EVIDENCE_INVENTORY": str(path),
        "OPS_EVIDENCE_STATE_DIR": str(workdir / "state"),
        "STATE_HUB_URL": hub,
        "OPS_EVIDENCE_LISTEN": listen,
        "OPS_EVIDENCE_LOG_LEVEL": "warning",
        "OPS_EVIDENCE_LOG_FORMAT": "json",
        **IMAGE_ENV,
    }
    proc = subprocess.Popen(
        [python, "-m", "ops_evidence", "run"],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, listen


def metric(listen: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric family from the service's /metrics."""
    text = httpx.get(f"http://{listen}/metrics", timeout=5).text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def wait_runs(listen: str, runs: int, deadline: float = 120) -> None:
    """Poll /metrics until at least `runs` probe runs completed (bounded)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if sum(metric(listen, "ops_evidence_probe_runs_total").values()) >= runs:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"fewer than {runs} probe runs within {deadline}s")


def lateness_buckets(listen: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of the service's probe-lateness histogram."""
    samples = metric(listen, "ops_evidence_probe_lateness_seconds_bucket")
    return sorted((float(dict(k)["le"]), v) for k, v in samples.items())


def lateness_quantiles(
    before: list[tuple[float, float]], after: list[tuple[float, float]]
) -> tuple[float, float, int]:
    """p50 and p99 upper bounds (bucket edges) of lateness within a window, and its count."""
    buckets = [(le, b - a) for (le, b), (_, a) in zip(after, before, strict=True)]
    total = buckets[-1][1]

    def q(p: float) -> float:
        return next(le for le, count in buckets if count >= p * total)

    return q(0.5), q(0.99), int(total)


def scenario(
    python: str,
    name: str,
    inventory: dict[str, Any],
    hub: str,
    workdir: Path,
    *,
    settle_runs: int,
    window: float,
) -> dict[str, Any]:
    """Run one scenario; RSS and CPU% over `window` seconds after `settle_runs` runs."""
    proc, listen = start(python, inventory, hub, workdir)
    try:
        wait_runs(listen, settle_runs)
        cpu0, t0, before = cpu_seconds(proc.pid), time.monotonic(), lateness_buckets(listen)
        time.sleep(window)  # the measurement window itself, not synchronisation
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        p50, p99, samples = lateness_quantiles(before, lateness_buckets(listen))
        return {
            "scenario": name,
            "rss_mb": rss_mb(proc.pid),
            "cpu_pct": cpu,
            "p50": p50,
            "p99": p99,
            "samples": samples,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window (s), example")
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="window (s), synthetic")
    parser.add_argument("--skip", choices=("example", "synthetic"), action="append", default=[])
    parser.add_argument(
        "--venv",
        choices=("image", "dev"),
        default="image",
        help="the service as the image installs it, or from this venv",
    )
    return parser.parse_args()


def _example(python: str, hub: str, target: str, idle: float) -> dict[str, Any]:
    """The example inventory, idle: settled once every entity has run."""
    with tempfile.TemporaryDirectory() as tmp:
        example = loopback_example(target, Path(tmp))
        count = sum(
            len(example.get(k, [])) for k in ("services", "endpoints", "access_paths", "backups")
        )
        return scenario(
            python,
            "example inventory (idle)",
            example,
            hub,
            Path(tmp),
            settle_runs=count,
            window=idle,
        )


def _print_table(rows: list[dict[str, Any]], floor: float) -> None:
    print(f"imports alone (no configuration read, nothing started): {floor:.1f} MiB")
    head = ("scenario", "RSS MiB", "CPU %", "lateness p50 ≤", "p99 ≤", "runs")
    print(f"{head[0]:<28} {head[1]:>8} {head[2]:>6} {head[3]:>15} {head[4]:>7} {head[5]:>6}")
    for r in rows:
        late = f"{r['p50'] * 1000:>12.0f} ms {r['p99'] * 1000:>4.0f} ms"
        print(
            f"{r['scenario']:<28} {r['rss_mb']:>8.1f} {r['cpu_pct']:>6.2f} {late} {r['samples']:>6}"
        )


def main() -> None:
    """Run both scenarios (or the ones not skipped) and print the table."""
    args = _arguments()
    rows = []
    with (
        tempfile.TemporaryDirectory() as venv,
        serve_asgi(create_app()) as hub,
        serve_asgi(targets_app()) as target,
    ):
        python = image_python(Path(venv)) if args.venv == "image" else sys.executable
        print(f"service environment: {args.venv} ({python})")
        if "example" not in args.skip:
            rows.append(_example(python, hub, target, args.idle))
        if "synthetic" not in args.skip:
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(
                    scenario(
                        python,
                        f"{args.probes} probes / 10 s",
                        synthetic(target, args.probes),
                        hub,
                        Path(tmp),
                        settle_runs=args.probes,
                        window=args.window,
                    )
                )
        floor = import_floor_mb(python)
    _print_table(rows, floor)


if __name__ == "__main__":
    main()
