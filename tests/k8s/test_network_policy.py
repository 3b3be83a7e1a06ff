"""The NetworkPolicy: deny by default, and open exactly what the inventory's checks need."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.k8s.render import PORT, Obj, inventory_of, one


def test_network_policy_denies_by_default(rendered: dict[str, list[Obj]]) -> None:
    """Ingress only to 9108; egress only DNS, HTTPS and State Hub (plus overlay additions)."""
    for name, objects in rendered.items():
        spec = one(objects, "NetworkPolicy")["spec"]
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        assert [p for rule in spec["ingress"] for p in rule["ports"]] == [
            {"port": PORT, "protocol": "TCP"}
        ]
        # A rule without ports would open every port to its peers.
        assert all(rule.get("ports") for rule in spec["egress"]), name
        open_to_all = {
            (p["protocol"], p["port"])
            for rule in spec["egress"]
            if "to" not in rule
            for p in rule["ports"]
        }
        assert open_to_all == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 8000)}, name
    railiance = one(rendered["railiance"], "NetworkPolicy")["spec"]["egress"]
    scoped = [rule for rule in railiance if "to" in rule]
    assert scoped == [
        {
            "to": [{"ipBlock": {"cidr": "92.205.130.254/32"}}],
            "ports": [{"port": 22, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}],
        }
    ]


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
        targets = set(_targets(inventory_of(objects, tmp_path).model_dump(mode="json")))
        assert targets, name
        egress = one(objects, "NetworkPolicy")["spec"]["egress"]
        blocked = sorted(t for t in targets if not _allowed(egress, *t))
        assert not blocked, f"{name}: egress does not allow {blocked}"
