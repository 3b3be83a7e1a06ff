"""The Kubernetes API check against a loopback nginx serving `/version` behind a bearer token."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.checks.kubernetes import check_kubernetes
from ops_evidence.inventory.checks import KubernetesApiPath
from tests import real_servers as servers

pytestmark = [pytest.mark.anyio, pytest.mark.integration]


def path(port: int, token_file: Path | None, ca: Path) -> KubernetesApiPath:
    """A kubernetes-api access path to nginx's TLS port."""
    token = {"file": str(token_file)} if token_file else None
    return KubernetesApiPath.model_validate(
        {
            "kind": "kubernetes-api",
            "url": f"https://127.0.0.1:{port}",
            "token": token,
            "ca_file": str(ca),
        }
    )


async def test_version_with_token(
    nginx: servers.Nginx, certs: servers.Certs, tmp_path: Path
) -> None:
    """With the right token from a file, `/version` answers and gitVersion is read."""
    token = tmp_path / "token"
    token.write_text(servers.KUBE_TOKEN + "\n")
    result = await check_kubernetes(path(nginx.valid, token, certs.ca_file), timeout=5)
    assert result.failure is None
    assert result.version == "v1.30.2"
    assert servers.KUBE_TOKEN not in repr(result)


async def test_wrong_token_is_unauthorized(
    nginx: servers.Nginx, certs: servers.Certs, tmp_path: Path
) -> None:
    """A refused token is `unauthorized`."""
    token = tmp_path / "token"
    token.write_text("some-other-token-value")
    result = await check_kubernetes(path(nginx.valid, token, certs.ca_file), timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "unauthorized"


async def test_missing_token_file(
    nginx: servers.Nginx, certs: servers.Certs, tmp_path: Path
) -> None:
    """An unreadable token file is `secret_unavailable`, before any request."""
    result = await check_kubernetes(
        path(nginx.valid, tmp_path / "absent", certs.ca_file), timeout=5
    )
    assert result.failure is not None
    assert result.failure.reason == "secret_unavailable"
