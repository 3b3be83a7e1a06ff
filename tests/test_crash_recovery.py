"""kill -9 during delivery, over and over: nothing lost, nothing duplicated at the hub."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ops_evidence.emulator import create_app
from ops_evidence.emulator.config import STRICT_PROFILES, FaultConfig
from tests.delivery_support import delivery_env, emulator_config, fill_outbox, stored_keys
from tests.servers import serve_asgi
from tests.support import REPO

# (kills, events) per list profile: the full run against the friendly and the minimal hub,
# a shorter one against each other strict profile (pagination styles, totals, order).
RUNS = {"friendly": (20, 1500), "minimal": (20, 1500)} | {
    p: (8, 1500) for p in STRICT_PROFILES if p != "minimal"
}
# Latency keeps each child busy for a while; faults make it retry and read back.
FAULTS = FaultConfig(seed=11, error_rates={503: 0.3}, reset_after_commit=0.1,
                     reset_before_commit=0.05, latency_ms=8, latency_jitter_ms=8)  # fmt: skip


def _drain(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ops_evidence", "outbox", "drain", "--timeout", "180"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(RUNS))
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    profile: str, tmp_path: Path
) -> None:
    """Repeated SIGKILLs of a delivering child; after a final drain every event is stored once."""
    import os

    rng = random.Random(20261123)
    kills_wanted, events = RUNS[profile]
    with serve_asgi(create_app(emulator_config(FAULTS, profile=profile))) as url:
        env = {**os.environ, **delivery_env(url, tmp_path)}
        keys = fill_outbox(tmp_path, events, delivery_env(url, tmp_path))
        progress: list[int] = []  # events stored at each kill that landed mid-work
        batches = 0
        while len(progress) < kills_wanted:
            child = _drain(env)
            try:
                child.wait(timeout=rng.uniform(0.8, 2.0))
                stored = None  # drained before the kill came
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.wait()
                stored = httpx.get(f"{url}/_emulator/counts").json()["interaction_events"]
            if stored is not None and stored < len(keys):
                progress.append(stored)
                continue
            # All delivered before the kill (a fast machine): top the backlog up, so every
            # kill that counts lands while work remains.
            batches += 1
            assert batches <= 10, "the children keep finishing before any kill lands"
            keys += fill_outbox(
                tmp_path, events, delivery_env(url, tmp_path), prefix=f"b{batches}-"
            )
        assert progress[0] < progress[-1], "the children made progress between kills"
        final = _drain(env)
        assert final.wait(timeout=180) == 0
        assert sorted(stored_keys(url)) == sorted(keys)
        assert httpx.get(f"{url}/_emulator/duplicates").json() == {}
