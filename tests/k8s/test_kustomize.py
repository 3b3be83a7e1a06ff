"""The kustomize tree under k8s/: renders, validates offline, and is safe to apply.

Built-in kinds are validated with kubernetes-validate (strict: unknown fields are errors) at
KUBERNETES_VERSION. Its schemas hold no CRDs, so ExternalSecret and ServiceMonitor are
checked here by apiVersion, kind and the fields their operators require.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from ops_evidence.inventory import load_inventory
from ops_evidence.settings import load_settings
from tests.support import REPO, require_tool

# The Kubernetes minor the manifests must be valid for (the oldest we support).
KUBERNETES_VERSION = "1.31.0"
K8S = REPO / "k8s"
CANARY = "canary-ops-hub-key-k8s-91f3e"
UID = 10001
PORT = 9108

# Render targets: a directory under k8s/, plus the optional components it should carry.
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "base": ("base", ()),
    "railiance": ("railiance", ()),
    "base+external-secret": ("base", ("external-secret",)),
    "base+service-monitor": ("base", ("service-monitor",)),
    "railiance+service-monitor": ("railiance", ("service-monitor",)),
}

# CRDs kubernetes-validate cannot know: kind -> (apiVersion, required spec paths).
CRDS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "ExternalSecret": (
        "external-secrets.io/v1",
        (("secretStoreRef", "name"), ("secretStoreRef", "kind"), ("target", "name"), ("data",)),
    ),
    "ServiceMonitor": ("monitoring.coreos.com/v1", (("selector",), ("endpoints",))),
}

Obj = dict[str, Any]


# Components and `labels` need kustomize v5 (kubectl >= 1.27). Debian bookworm's
# kubernetes-client is kubectl 1.20 with kustomize v2, which cannot render this tree.
MIN_KUBECTL_MINOR = 27


def _kubectl() -> str:
    kubectl = require_tool("kubectl", "kubectl >= 1.27; not Debian's kubernetes-client 1.20")
    result = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    minor = json.loads(result.stdout or "{}").get("clientVersion", {}).get("minor", "0")
    if int("".join(c for c in minor if c.isdigit()) or 0) < MIN_KUBECTL_MINOR:
        pytest.skip(f"kubectl 1.{minor} embeds a kustomize too old for k8s/ (need >= 1.27)")
    return kubectl


def _kustomize(directory: Path, kubectl: str) -> list[Obj]:
    # A canary key in the environment: kustomize must never pull it into the output (an env
    # file line without `=` would do exactly that).
    env = {**os.environ, "OPS_HUB_KEY": CANARY}
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Every target rendered once; components are added by a throwaway kustomization."""
    kubectl = _kubectl()
    out = {}
    for name, (directory, components) in TARGETS.items():
        target = K8S / directory
        if components:
            target = tmp_path_factory.mktemp(name.replace("+", "-"))
            # kustomize takes relative paths only, even across the filesystem.
            rel = os.path.relpath(K8S, target)
            (target / "kustomization.yaml").write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                        "resources": [f"{rel}/{directory}"],
                        "components": [f"{rel}/components/{c}" for c in components],
                    }
                ),
                encoding="utf-8",
            )
        out[name] = _kustomize(target, kubectl)
    return out


def _all(rendered: dict[str, list[Obj]]) -> Iterator[tuple[str, Obj]]:
    for name, objects in rendered.items():
        for obj in objects:
            yield name, obj


def _one(objects: list[Obj], kind: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _container(objects: list[Obj]) -> Obj:
    containers = _one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Obj = containers[0]
    return result


def _env(objects: list[Obj]) -> dict[str, Obj]:
    return {e["name"]: e for e in _container(objects)["env"]}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _validate(obj: Obj) -> None:
    if obj["kind"] in CRDS:
        api_version, required = CRDS[obj["kind"]]
        assert obj["apiVersion"] == api_version
        assert obj["metadata"]["name"]
        for path in required:
            node: Any = obj["spec"]
            for key in path:
                assert key in node, f"{obj['kind']}: spec.{'.'.join(path)} missing"
                node = node[key]
            assert node, f"{obj['kind']}: spec.{'.'.join(path)} empty"
        return
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_target_renders_the_expected_objects(rendered: dict[str, list[Obj]]) -> None:
    """Base, overlay and components render, with exactly the kinds each should carry."""
    common = {
        "ServiceAccount", "ConfigMap", "Service", "PersistentVolumeClaim", "Deployment",
        "NetworkPolicy",
    }  # fmt: skip
    expected = {
        "base": common,
        "railiance": common | {"Namespace", "ExternalSecret"},
        "base+external-secret": common | {"ExternalSecret"},
        "base+service-monitor": common | {"ServiceMonitor"},
        "railiance+service-monitor": common | {"Namespace", "ExternalSecret", "ServiceMonitor"},
    }
    for name, objects in rendered.items():
        assert {o["kind"] for o in objects} == expected[name], name
    assert all(o["metadata"]["namespace"] == "ops-evidence" for o in rendered["railiance"]
               if o["kind"] != "Namespace")  # fmt: skip
    namespace = _one(rendered["railiance"], "Namespace")["metadata"]
    assert namespace["name"] == "ops-evidence"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_object_validates_strictly(rendered: dict[str, list[Obj]]) -> None:
    """Each rendered object is valid at the pinned version; CRDs have their required fields."""
    for name, obj in _all(rendered):
        try:
            _validate(obj)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message}")


def test_strict_validation_rejects_an_unknown_field(rendered: dict[str, list[Obj]]) -> None:
    """The validator is not a no-op: a misspelt Deployment field fails it."""
    deployment = yaml.safe_load(yaml.safe_dump(_one(rendered["base"], "Deployment")))
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)


def test_pod_meets_the_restricted_pod_security_standard(rendered: dict[str, list[Obj]]) -> None:
    """Non-root numeric user, read-only root, no escalation, drop ALL, RuntimeDefault seccomp."""
    for name, objects in rendered.items():
        pod = _one(objects, "Deployment")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == UID
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), name
        ctx = _container(objects)["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["runAsUser"] == UID
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        allowed = {"configMap", "emptyDir", "persistentVolumeClaim", "secret", "projected"}
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= allowed, volume
        account = _one(objects, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False


def test_probes_hit_health_and_readiness_on_the_listener(rendered: dict[str, list[Obj]]) -> None:
    """Startup and liveness probe /healthz, readiness /readyz, all on the 9108 port."""
    for objects in rendered.values():
        container = _container(objects)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"metrics": PORT}
        paths = {}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert ports.get(get["port"], get["port"]) == PORT
            paths[probe] = get["path"]
        assert paths == {
            "startupProbe": "/healthz",
            "livenessProbe": "/healthz",
            "readinessProbe": "/readyz",
        }
        assert _env(objects)["OPS_EVIDENCE_LISTEN"]["value"] == f"0.0.0.0:{PORT}"


def test_one_replica_recreate_with_the_outbox_on_a_pvc(rendered: dict[str, list[Obj]]) -> None:
    """One writer: 1 replica, Recreate, the state dir on the PVC, scratch dirs on emptyDirs."""
    for objects in rendered.values():
        deployment = _one(objects, "Deployment")
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in _container(objects)["volumeMounts"]}
        env = _env(objects)
        state = mounts[env["OPS_EVIDENCE_STATE_DIR"]["value"]]
        pvc = _one(objects, "PersistentVolumeClaim")
        assert state["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        for scratch in ("/tmp", env["XDG_CACHE_HOME"]["value"]):
            assert "emptyDir" in mounts[scratch], scratch
        inventory = Path(env["OPS_EVIDENCE_INVENTORY"]["value"])
        assert "configMap" in mounts[str(inventory.parent)]


def test_container_runs_the_service_with_json_logs_and_bounded_memory(
    rendered: dict[str, list[Obj]],
) -> None:
    """`ops-evidence run`, JSON logs, requests and limits with a 128Mi memory ceiling."""
    for objects in rendered.values():
        container = _container(objects)
        assert container["command"] + container["args"] == ["ops-evidence", "run"]
        assert _env(objects)["OPS_EVIDENCE_LOG_FORMAT"]["value"] == "json"
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert resources["limits"]["memory"] == "128Mi"


def test_selectors_match_the_pod_labels(rendered: dict[str, list[Obj]]) -> None:
    """Deployment, Service, NetworkPolicy and ServiceMonitor selectors select the pod."""
    for name, objects in rendered.items():
        deployment = _one(objects, "Deployment")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _matches(deployment["spec"]["selector"]["matchLabels"], labels), name
        service = _one(objects, "Service")
        assert _matches(service["spec"]["selector"], labels), name
        policy = _one(objects, "NetworkPolicy")
        assert _matches(policy["spec"]["podSelector"]["matchLabels"], labels), name
        for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
            assert _matches(
                monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
            )
            assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"metrics"}


def test_network_policy_denies_by_default(rendered: dict[str, list[Obj]]) -> None:
    """Ingress only to 9108; egress only DNS, HTTPS and State Hub (plus overlay additions)."""
    for name, objects in rendered.items():
        spec = _one(objects, "NetworkPolicy")["spec"]
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        assert [p for rule in spec["ingress"] for p in rule["ports"]] == [
            {"port": PORT, "protocol": "TCP"}
        ]
        # A rule without ports would open every port to its peers.
        assert all(rule.get("ports") for rule in spec["egress"]), name
        open_to_all = {
            (p["protocol"], p["port"]) for rule in spec["egress"] if "to" not in rule
            for p in rule["ports"]
        }  # fmt: skip
        assert open_to_all == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 8000)}, name
    railiance = _one(rendered["railiance"], "NetworkPolicy")["spec"]["egress"]
    scoped = [rule for rule in railiance if "to" in rule]
    assert scoped == [
        {
            "to": [{"ipBlock": {"cidr": "92.205.130.254/32"}}],
            "ports": [{"port": 22, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
        }
    ]


def test_no_secret_value_in_any_rendered_object(rendered: dict[str, list[Obj]]) -> None:
    """OPS_HUB_KEY is only ever a secretKeyRef (optional); no Secret with data is rendered."""
    for name, obj in _all(rendered):
        assert obj["kind"] != "Secret", f"{name}: a Secret in Git would carry its value"
        if obj["kind"] == "ConfigMap":
            assert "OPS_HUB_KEY" not in obj["data"], name
    for name, objects in rendered.items():
        text = yaml.safe_dump(objects)
        assert CANARY not in text
        key = _env(objects)["OPS_HUB_KEY"]
        assert set(key) == {"name", "valueFrom"}, name
        ref = key["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "ops-evidence-hub-key", "key": "OPS_HUB_KEY", "optional": True}
        mentions = text.count("OPS_HUB_KEY")
        external = [o for o in objects if o["kind"] == "ExternalSecret"]
        # One env name plus one secretKeyRef key, and in an ExternalSecret its key and field.
        assert mentions == 2 + 2 * len(external), name


def test_external_secret_fills_the_secret_the_pod_reads(rendered: dict[str, list[Obj]]) -> None:
    """The ExternalSecret targets the referenced Secret from OpenBao's ops-hub runtime path."""
    objects = rendered["railiance"]
    spec = _one(objects, "ExternalSecret")["spec"]
    ref = _env(objects)["OPS_HUB_KEY"]["valueFrom"]["secretKeyRef"]
    assert spec["target"]["name"] == ref["name"]
    assert spec["data"] == [
        {
            "secretKey": ref["key"],
            "remoteRef": {"key": "platform/operators/ops-hub/runtime", "property": "OPS_HUB_KEY"},
        }
    ]


def test_rendered_inventories_are_valid(rendered: dict[str, list[Obj]], tmp_path: Path) -> None:
    """The inventory ConfigMaps load cleanly; railiance's is examples/railiance.yaml."""
    for name in ("base", "railiance"):
        config = next(
            o for o in rendered[name]
            if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("ops-evidence-inventory-")
        )  # fmt: skip
        path = tmp_path / f"{name}.yaml"
        path.write_text(config["data"]["inventory.yaml"], encoding="utf-8")
        assert load_inventory(path).name == name
    example = (REPO / "examples" / "railiance.yaml").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8") == example


def test_runtime_config_is_accepted_by_the_settings(
    rendered: dict[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime ConfigMap plus the fixed env load as settings; empty values count as unset."""
    for name, objects in rendered.items():
        deployment = _one(objects, "Deployment")
        refs = [e["configMapRef"]["name"] for e in _container(objects)["envFrom"]]
        runtime = next(o for o in objects if o["metadata"]["name"] in refs)
        assert {"INTER_HUB_URL", "OPS_HUB_WIDGET_MAPPING"} <= set(runtime["data"]), name
        env = {k: v["value"] for k, v in _env(objects).items() if "value" in v}
        for key, value in {**runtime["data"], **env}.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        assert str(settings.state_dir) == "/var/lib/ops-evidence"
        assert settings.log_format == "json"
        # No key and no mapping before go-live: the State Hub fallback, not a crash.
        assert {"OPS_HUB_KEY", "OPS_HUB_WIDGET_MAPPING"} <= set(settings.inter_hub_missing())
        assert deployment["metadata"]["name"] == "ops-evidence"
        # The base leaves Inter-Hub unset; railiance names it, so gate-probe works in the pod.
        assert (settings.inter_hub_url is None) == name.startswith("base"), name


def _targets(node: Any) -> Iterator[tuple[str, int]]:
    """(host, TCP port) of every network check in an inventory dump; DNS is port 53."""
    if isinstance(node, list):
        for item in node:
            yield from _targets(item)
        return
    if not isinstance(node, dict):
        return
    url = node.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        assert parts.hostname
        yield parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    if node.get("kind") in {"ssh", "tcp", "tls"} and "host" in node and "port" in node:
        yield str(node["host"]), int(node["port"])
    for value in node.values():
        yield from _targets(value)


def _allowed(egress: list[Obj], host: str, port: int) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        return True  # loopback never leaves the pod
    for rule in egress:
        ports = {(p["protocol"], p["port"]) for p in rule["ports"]}
        if ("TCP", port) not in ports:
            continue
        if "to" not in rule:
            return True
        blocks = [ipaddress.ip_network(peer["ipBlock"]["cidr"]) for peer in rule["to"]]
        if address is not None and any(address in block for block in blocks):
            return True
    return False


def test_network_policy_lets_every_inventory_check_out(
    rendered: dict[str, list[Obj]], tmp_path: Path
) -> None:
    """Each host:port the shipped inventory probes is allowed by the rendered egress rules."""
    for name in ("base", "railiance"):
        objects = rendered[name]
        config = next(
            o for o in objects
            if o["kind"] == "ConfigMap" and "inventory.yaml" in o["data"]
        )  # fmt: skip
        path = tmp_path / f"{name}.yaml"
        path.write_text(config["data"]["inventory.yaml"], encoding="utf-8")
        targets = set(_targets(load_inventory(path).model_dump(mode="json")))
        assert targets, name
        egress = _one(objects, "NetworkPolicy")["spec"]["egress"]
        blocked = sorted(t for t in targets if not _allowed(egress, *t))
        assert not blocked, f"{name}: egress does not allow {blocked}"
