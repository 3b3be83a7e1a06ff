"""The Containerfile, checked statically (no container engine here): non-root, no secrets,
labelled, the backup tools installed, and consistent with the Kubernetes Deployment."""

from __future__ import annotations

import json
import re
import tomllib

import yaml

from tests.support import REPO

CONTAINERFILE = REPO / "Containerfile"
SECRETISH = re.compile(r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL", re.IGNORECASE)


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = []
    pending = ""
    for raw in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "dangling line continuation"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def _final(name: str) -> list[str]:
    return [args for instr, args in _stages()[-1] if instr == name]


def _pod() -> dict[str, object]:
    deployment = yaml.safe_load((REPO / "k8s" / "base" / "deployment.yaml").read_text("utf-8"))
    spec: dict[str, object] = deployment["spec"]["template"]["spec"]
    return spec


def _key_values(args: str) -> dict[str, str]:
    """KEY=VALUE pairs of an ENV or LABEL line (values may be double-quoted)."""
    pairs = re.findall(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S+)', args)
    return {key: value.strip('"') for key, value in pairs}


def test_multi_stage_build_from_the_lock_onto_slim_python() -> None:
    """A builder installs with `uv sync --locked`; the runtime is python:3.11-slim-bookworm."""
    stages = _stages()
    assert len(stages) >= 2
    assert stages[-1][0] == ("FROM", "python:3.11-slim-bookworm")
    builder_runs = " ".join(args for instr, args in stages[0] if instr == "RUN")
    assert "uv sync --locked --no-dev" in builder_runs
    assert any(i == "COPY" and "--from=builder" in a for i, a in stages[-1])


def test_runs_as_the_numeric_non_root_user_of_the_deployment() -> None:
    """USER is numeric, not 0, and equals the Deployment's runAsUser:runAsGroup."""
    users = _final("USER")
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit(), uid
    assert gid.isdigit(), gid
    assert int(uid) != 0
    context = _pod()["securityContext"]
    assert isinstance(context, dict)
    assert (int(uid), int(gid)) == (context["runAsUser"], context["runAsGroup"])


def test_no_build_argument_or_environment_variable_carries_a_secret() -> None:
    """No ARG or ENV is named like a key, token or password; OPS_HUB_KEY is never set."""
    for instruction, args in _instructions():
        if instruction == "ARG":
            assert not SECRETISH.search(args.split("=", 1)[0]), args
        if instruction == "ENV":
            for key in _key_values(args):
                assert not SECRETISH.search(key), key
        assert "OPS_HUB_KEY" not in args
        assert not (instruction == "RUN" and "--mount=type=secret" in args)


def test_oci_labels() -> None:
    """The image carries the standard OCI labels."""
    labels: dict[str, str] = {}
    for args in _final("LABEL"):
        labels.update(_key_values(args))
    for name in ("title", "description", "version", "revision", "licenses"):
        assert labels.get(f"org.opencontainers.image.{name}"), name


def test_installs_the_backup_tools_the_probes_call() -> None:
    """restic, borgbackup, pgbackrest, openssh-client (ssh-keyscan) and zstd come from Debian in
    the runtime stage."""
    runs = " ".join(_final("RUN"))
    assert "apt-get install" in runs
    for package in (
        "restic",
        "borgbackup",
        "pgbackrest",
        "ca-certificates",
        "openssh-client",
        "zstd",
    ):
        assert re.search(rf"\s{package}(\s|$)", runs), package
    assert "rm -rf /var/lib/apt/lists" in runs


def test_entrypoint_is_the_console_script_running_the_service() -> None:
    """ENTRYPOINT ["ops-evidence"] (the project's console script), CMD ["run"], port 9108."""
    assert [json.loads(a) for a in _final("ENTRYPOINT")] == [["ops-evidence"]]
    assert [json.loads(a) for a in _final("CMD")] == [["run"]]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert "ops-evidence" in scripts
    containers = _pod()["containers"]
    assert isinstance(containers, list)
    ports = [p["containerPort"] for p in containers[0]["ports"]]
    assert _final("EXPOSE") == [str(port) for port in ports]


def test_build_context_holds_only_what_the_build_needs() -> None:
    """.dockerignore (and .containerignore, the same file) admits only sources and the lock."""
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8")
    assert (REPO / ".containerignore").read_text(encoding="utf-8") == ignore
    rules = [r for r in ignore.splitlines() if r and not r.startswith("#")]
    assert rules[0] == "*"
    admitted = {r.removeprefix("!").rstrip("/") for r in rules if r.startswith("!")}
    assert admitted == {"pyproject.toml", "uv.lock", "README.md", "src"}
    copied = {
        part.rstrip("/")
        for instr, args in _stages()[0]
        if instr == "COPY"
        for part in args.split()[:-1]
    }
    assert copied <= admitted
