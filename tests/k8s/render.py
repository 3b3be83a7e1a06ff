"""Rendering k8s/ with `kubectl kustomize`, and small accessors for the rendered objects.

Built-in kinds are validated with kubernetes-validate (strict: unknown fields are errors) at
KUBERNETES_VERSION. Its schemas hold no CRDs, so ExternalSecret and ServiceMonitor are
checked here by apiVersion, kind and the fields their operators require.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from ops_evidence.inventory import Inventory, load_inventory
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


def kubectl_path() -> str:
    """kubectl, when its kustomize can render this tree; skips (fails under CI) otherwise."""
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


def kustomize(directory: Path, kubectl: str) -> list[Obj]:
    """The objects `kubectl kustomize DIRECTORY` renders, with a canary key in its env."""
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


def render_all(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Every target rendered once; components are added by a throwaway kustomization."""
    kubectl = kubectl_path()
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
        out[name] = kustomize(target, kubectl)
    return out


def every(rendered: dict[str, list[Obj]]) -> Iterator[tuple[str, Obj]]:
    """(target, object) for every rendered object."""
    for name, objects in rendered.items():
        for obj in objects:
            yield name, obj


def one(objects: list[Obj], kind: str) -> Obj:
    """The single object of a kind."""
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container_of(objects: list[Obj]) -> Obj:
    """The Deployment's one container."""
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Obj = containers[0]
    return result


def env_of(objects: list[Obj]) -> dict[str, Obj]:
    """The container's env entries by name."""
    return {e["name"]: e for e in container_of(objects)["env"]}


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a non-empty matchLabels selector selects these labels."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def validate(obj: Obj) -> None:
    """Validate one object: strict schema for built-in kinds, required fields for CRDs."""
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


def inventory_text(objects: list[Obj]) -> str:
    """The inventory file in a target's generated ConfigMap."""
    config = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("ops-evidence-inventory-")
    )
    text: str = config["data"]["inventory.yaml"]
    return text


def inventory_of(objects: list[Obj], directory: Path) -> Inventory:
    """A target's inventory, loaded by the service's own loader from a file in DIRECTORY."""
    path = directory / f"inventory-{len(list(directory.iterdir()))}.yaml"
    path.write_text(inventory_text(objects), encoding="utf-8")
    return load_inventory(path)
