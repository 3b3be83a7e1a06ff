"""The kustomize tree under k8s/: renders, validates offline, and is safe to apply."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ops_evidence.config.settings import load_settings
from tests.k8s.render import (
    CANARY,
    PORT,
    UID,
    Obj,
    container_of,
    env_of,
    every,
    inventory_of,
    inventory_text,
    matches,
    one,
    validate,
)
from tests.support import REPO


def test_every_target_renders_the_expected_objects(rendered: dict[str, list[Obj]]) -> None:
    """Base, overlay and components render, with exactly the kinds each should carry."""
    common = {
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "PersistentVolumeClaim",
        "Deployment",
        "NetworkPolicy",
    }
    expected = {
        "base": common,
        "railiance": common | {"Namespace", "ExternalSecret"},
        "base+external-secret": common | {"ExternalSecret"},
        "base+service-monitor": common | {"ServiceMonitor"},
        "railiance+service-monitor": common | {"Namespace", "ExternalSecret", "ServiceMonitor"},
    }
    for name, objects in rendered.items():
        assert {o["kind"] for o in objects} == expected[name], name
    assert all(
        o["metadata"]["namespace"] == "ops-evidence"
        for o in rendered["railiance"]
        if o["kind"] != "Namespace"
    )
    namespace = one(rendered["railiance"], "Namespace")["metadata"]
    assert namespace["name"] == "ops-evidence"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_object_validates_strictly(rendered: dict[str, list[Obj]]) -> None:
    """Each rendered object is valid at the pinned version; CRDs have their required fields."""
    for name, obj in every(rendered):
        try:
            validate(obj)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message}")


def test_strict_validation_rejects_an_unknown_field(rendered: dict[str, list[Obj]]) -> None:
    """The validator is not a no-op: a misspelt Deployment field fails it."""
    deployment = yaml.safe_load(yaml.safe_dump(one(rendered["base"], "Deployment")))
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)


def test_pod_meets_the_restricted_pod_security_standard(rendered: dict[str, list[Obj]]) -> None:
    """Non-root numeric user, read-only root, no escalation, drop ALL, RuntimeDefault seccomp."""
    for name, objects in rendered.items():
        pod = one(objects, "Deployment")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == UID
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), name
        ctx = container_of(objects)["securityContext"]
        assert ctx["runAsNonRoot"] is True
        assert ctx["runAsUser"] == UID
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        allowed = {"configMap", "emptyDir", "persistentVolumeClaim", "secret", "projected"}
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= allowed, volume
        account = one(objects, "ServiceAccount")
        assert account["automountServiceAccountToken"] is False


def test_probes_hit_health_and_readiness_on_the_listener(rendered: dict[str, list[Obj]]) -> None:
    """Startup and liveness probe /healthz, readiness /readyz, all on the 9108 port."""
    for objects in rendered.values():
        container = container_of(objects)
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
        assert env_of(objects)["OPS_EVIDENCE_LISTEN"]["value"] == f"0.0.0.0:{PORT}"


def test_one_replica_recreate_with_the_outbox_on_a_pvc(rendered: dict[str, list[Obj]]) -> None:
    """One writer: 1 replica, Recreate, the state dir on the PVC, scratch dirs on emptyDirs."""
    for objects in rendered.values():
        deployment = one(objects, "Deployment")
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container_of(objects)["volumeMounts"]}
        env = env_of(objects)
        state = mounts[env["OPS_EVIDENCE_STATE_DIR"]["value"]]
        pvc = one(objects, "PersistentVolumeClaim")
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
        container = container_of(objects)
        assert container["command"] + container["args"] == ["ops-evidence", "run"]
        assert env_of(objects)["OPS_EVIDENCE_LOG_FORMAT"]["value"] == "json"
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert resources["limits"]["memory"] == "128Mi"


def test_selectors_match_the_pod_labels(rendered: dict[str, list[Obj]]) -> None:
    """Deployment, Service, NetworkPolicy and ServiceMonitor selectors select the pod."""
    for name, objects in rendered.items():
        deployment = one(objects, "Deployment")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert matches(deployment["spec"]["selector"]["matchLabels"], labels), name
        service = one(objects, "Service")
        assert matches(service["spec"]["selector"], labels), name
        policy = one(objects, "NetworkPolicy")
        assert matches(policy["spec"]["podSelector"]["matchLabels"], labels), name
        for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
            assert matches(
                monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
            )
            assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"metrics"}


def test_no_secret_value_in_any_rendered_object(rendered: dict[str, list[Obj]]) -> None:
    """OPS_HUB_KEY is only ever a secretKeyRef (optional); no Secret with data is rendered."""
    for name, obj in every(rendered):
        assert obj["kind"] != "Secret", f"{name}: a Secret in Git would carry its value"
        if obj["kind"] == "ConfigMap":
            assert "OPS_HUB_KEY" not in obj["data"], name
    for name, objects in rendered.items():
        text = yaml.safe_dump(objects)
        assert CANARY not in text
        key = env_of(objects)["OPS_HUB_KEY"]
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
    spec = one(objects, "ExternalSecret")["spec"]
    ref = env_of(objects)["OPS_HUB_KEY"]["valueFrom"]["secretKeyRef"]
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
        assert inventory_of(rendered[name], tmp_path).name == name
    example = (REPO / "examples" / "railiance.yaml").read_text(encoding="utf-8")
    assert inventory_text(rendered["railiance"]) == example


def test_runtime_config_is_accepted_by_the_settings(
    rendered: dict[str, list[Obj]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime ConfigMap plus the fixed env load as settings; empty values count as unset."""
    for name, objects in rendered.items():
        deployment = one(objects, "Deployment")
        refs = [e["configMapRef"]["name"] for e in container_of(objects)["envFrom"]]
        runtime = next(o for o in objects if o["metadata"]["name"] in refs)
        assert {"INTER_HUB_URL", "OPS_HUB_WIDGET_MAPPING"} <= set(runtime["data"]), name
        env = {k: v["value"] for k, v in env_of(objects).items() if "value" in v}
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
