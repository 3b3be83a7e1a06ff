"""CPU per 1,000 HTTP probes: ops-evidence vs Prometheus blackbox_exporter, same run.

Both probe the same loopback nginx `/v2/` answering `401` with
`Docker-Distribution-Api-Version: registry/2.0`, with the same expectation (status 401, that
header). ops-evidence runs its real probe path in this process (`run_probe`: fresh client
and connection, checks, event model, redaction, one JSON log line to /dev/null) and is
measured with `time.process_time()`. blackbox_exporter runs as its own process, driven over
one keep-alive connection, and is measured from `/proc/<pid>/stat` (utime + stime), so the
driver's own CPU is not counted against it. nginx's CPU is counted for neither.

    uv run python bench/probes.py [--probes 1000] [--rounds 3] [--transport ours|httpx]

`--transport httpx` probes through httpx's own transport (httpcore, keep-alive off: one
fresh connection per probe, as blackbox_exporter does) instead of `checks/transport.py`, the
comparison that decides whether the hand-written transport earns its place (issue 14).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the real-server launchers shared with the test suite

from tests import real_servers as servers  # noqa: E402

from ops_evidence.checks.http import fresh_client  # noqa: E402 - after the path setup
from ops_evidence.http.cookieless import CookielessClient  # noqa: E402
from ops_evidence.http.trust import ssl_context  # noqa: E402
from ops_evidence.inventory.checks import HttpOptions  # noqa: E402
from ops_evidence.inventory.models import Inventory  # noqa: E402
from ops_evidence.logging import configure_logging  # noqa: E402
from ops_evidence.probes import ProbeContext, find_target, run_probe  # noqa: E402

BLACKBOX_CONFIG = """modules:
  registry401:
    prober: http
    timeout: 5s
    http:
      method: GET
      valid_status_codes: [401]
      fail_if_header_not_matches:
        - header: Docker-Distribution-Api-Version
          regexp: '^registry/2\\.0$'
"""
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure_blackbox(port: int, pid: int, url: str, probes: int) -> float:
    """CPU seconds blackbox_exporter spends on `probes` probes of `url`."""
    params = {"module": "registry401", "target": url}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
        for _ in range(50):  # warm-up: connection, config, Go runtime
            client.get("/probe", params=params)
        before = process_cpu(pid)
        for _ in range(probes):
            answer = client.get("/probe", params=params)
            if "probe_success 1" not in answer.text:
                raise SystemExit(f"blackbox probe failed:\n{answer.text[-500:]}")
        return process_cpu(pid) - before


def httpx_client(options: HttpOptions, timeout: float) -> httpx.AsyncClient:
    """The probe's client on httpx's own transport, keep-alive off (a new connection each)."""
    transport = httpx.AsyncHTTPTransport(
        verify=ssl_context(options.verify_tls, options.ca_file),
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    return CookielessClient(
        transport=transport,
        follow_redirects=options.follow_redirects,
        timeout=httpx.Timeout(timeout),
        trust_env=False,
    )


CLIENTS = {"ours": fresh_client, "httpx": httpx_client}


async def _ops_evidence(url: str, probes: int, transport: str) -> float:
    inventory = Inventory.model_validate(
        {
            "environments": [{"id": "local", "role": "bench"}],
            "services": [{"id": "registry", "environment": "local"}],
            "endpoints": [
                {
                    "id": "registry",
                    "service": "registry",
                    "url": url,
                    "expect": {
                        "status": 401,
                        "headers": {"Docker-Distribution-Api-Version": "registry/2.0"},
                    },
                }
            ],
        }
    )
    target = find_target(inventory, "endpoint:registry")
    assert target is not None
    ctx = ProbeContext(inventory, client_factory=CLIENTS[transport])
    for _ in range(50):
        await run_probe(ctx, target)
    before = time.process_time()
    for _ in range(probes):
        event = await run_probe(ctx, target)
        if not event.attributes.verified:
            raise SystemExit(f"ops-evidence probe failed: {event.attributes.message}")
    return time.process_time() - before


def measure_ops_evidence(url: str, probes: int, transport: str = "ours") -> float:
    """CPU seconds this process spends on `probes` ops-evidence probes of `url`."""
    with Path(os.devnull).open("w") as sink:
        configure_logging("info", "json", sink)
        return anyio.run(_ops_evidence, url, probes, transport)


def main() -> None:
    """Start nginx and blackbox_exporter on loopback, measure both, print the table.

    Each side's figure is its lowest round: the one least disturbed by the rest of the machine.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", choices=sorted(CLIENTS), default="ours")
    args = parser.parse_args()
    blackbox = shutil.which("prometheus-blackbox-exporter")
    if blackbox is None:
        raise SystemExit("apt-get install prometheus-blackbox-exporter")
    with tempfile.TemporaryDirectory() as tmp, nginx_and_blackbox(Path(tmp), blackbox) as targets:
        url, port, pid = targets
        # Rounds alternate between the two so both see the same background load.
        rounds = [
            (
                measure_ops_evidence(url, args.probes, args.transport),
                measure_blackbox(port, pid, url, args.probes),
            )
            for _ in range(args.rounds)
        ]
        ours, theirs = min(r[0] for r in rounds), min(r[1] for r in rounds)
    print(f"transport: {args.transport}")
    print_table(args.probes, ours, theirs)


@contextlib.contextmanager
def nginx_and_blackbox(folder: Path, blackbox: str) -> Iterator[tuple[str, int, int]]:
    """nginx (the target) and blackbox_exporter on loopback, in `folder`: the target's URL,
    the exporter's port and its pid (for its CPU)."""
    (folder / "blackbox.yml").write_text(BLACKBOX_CONFIG)
    port = servers.free_port()
    argv = [
        blackbox,
        f"--config.file={folder / 'blackbox.yml'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (
        servers.nginx(folder, None) as ports,
        servers.running(
            argv, lambda: servers.port_open(port), "blackbox_exporter", folder / "blackbox.log"
        ),
    ):
        pid = next(p for p in _children() if "blackbox" in _cmdline(p))
        yield f"http://127.0.0.1:{ports.http}/v2/", port, pid


def _children() -> list[int]:
    me = os.getpid()
    return [int(p) for p in Path(f"/proc/{me}/task/{me}/children").read_text().split()]


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def print_table(probes: int, ours: float, theirs: float) -> None:
    """The result table: CPU seconds per 1,000 probes and the ratio to blackbox_exporter."""
    scale = 1000 / probes
    rows = [
        ("ops-evidence", ours * scale, ours / probes * 1000),
        ("blackbox_exporter", theirs * scale, theirs / probes * 1000),
    ]
    print(f"{'prober':<20}{'CPU s / 1000 probes':>22}{'CPU ms / probe':>17}")
    for name, per_thousand, per_probe in rows:
        print(f"{name:<20}{per_thousand:>22.3f}{per_probe:>17.3f}")
    print(f"ratio ops-evidence / blackbox_exporter: {ours / theirs:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
