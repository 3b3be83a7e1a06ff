"""The registry check's parsing of what registries and token realms say, without a server."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from ops_evidence.checks.registry.content import digest_of, make_artifact, unique_tag
from ops_evidence.checks.registry.session import Answer, Session, challenge, granted_by
from ops_evidence.events.identifiers import shapes_of
from ops_evidence.events.types import RegistryPublish
from ops_evidence.redact import redact

NOW = datetime(2026, 12, 4, 18, 0, 5, tzinfo=UTC)


def jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token (the check reads claims, it never verifies them)."""
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJub25lIn0.{part}.c2ln"


def test_bearer_challenge_is_parsed() -> None:
    """Scheme lowercased; realm, service, scope and error read from the quoted parameters."""
    headers = httpx.Headers(
        {
            "WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="reg",'
            'scope="repository:a/b:pull,push",error="insufficient_scope"'
        }
    )
    assert challenge(headers) == (
        "bearer",
        {
            "realm": "https://auth.test/token",
            "service": "reg",
            "scope": "repository:a/b:pull,push",
            "error": "insufficient_scope",
        },
    )
    assert challenge(httpx.Headers({"WWW-Authenticate": 'Basic realm="x"'})) == (
        "basic",
        {"realm": "x"},
    )
    assert challenge(httpx.Headers()) is None


def test_granted_scope_from_the_answer_or_the_token_claims() -> None:
    """The realm's `scope` wins; else the token's `access` claim; else nothing is claimed."""
    access = [{"type": "repository", "name": "a/b", "actions": ["pull"]}]
    assert granted_by({"scope": "repository:a/b:pull"}, "opaque") == "repository:a/b:pull"
    assert granted_by({}, jwt({"access": access})) == "repository:a/b:pull"
    assert granted_by({}, "opaque-token") is None
    assert granted_by({}, jwt({"sub": "x"})) is None


def test_oci_error_code_is_read_from_the_body() -> None:
    """`errors[0].code`, lowercased; None for a body that is not an OCI error."""
    denied = Answer(403, body=b'{"errors":[{"code":"DENIED","message":"no"}]}')
    assert denied.error_code() == "denied"
    assert Answer(500, body=b"<html>").error_code() is None
    assert Answer(404, body=b'{"errors":[]}').error_code() is None


def test_artifact_is_random_and_self_consistent() -> None:
    """Two artifacts differ (new layer, new tag); the manifest names the blobs it pushes."""
    first, second = make_artifact(NOW), make_artifact(NOW)
    assert first.layer.data != second.layer.data
    assert first.tag != second.tag
    manifest = json.loads(first.manifest)
    assert manifest["layers"][0]["digest"] == first.layer.digest == digest_of(first.layer.data)
    assert manifest["config"]["digest"] == first.config.digest
    assert first.manifest_digest == digest_of(first.manifest)
    assert unique_tag(NOW).startswith("ops-evidence-20261204T180005Z-")


def test_tag_and_digests_survive_redaction() -> None:
    """The tag and digests are identifiers: redaction by the model keeps them verbatim."""
    artifact = make_artifact(NOW)
    value = {
        "verified": True,
        "repository": "a/b",
        "tag": artifact.tag,
        "auth_scheme": "basic",
        "delete": "deleted",
        "manifest_digest": artifact.manifest_digest,
        "blob_digest": artifact.layer.digest,
        "steps": [{"name": "blob-get", "status": 200, "ok": True, "digest": artifact.layer.digest}],
    }
    kept = redact(value, shapes=shapes_of(RegistryPublish))
    assert kept == value


def challenging(realm: str) -> httpx.AsyncClient:
    """A client whose every answer is a Bearer challenge naming `realm` (and records asks)."""

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        header = f'Bearer realm="{realm}",service="reg"'
        return httpx.Response(401, headers={"WWW-Authenticate": header})

    asked: list[str] = []
    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client.asked = asked  # type: ignore[attr-defined]  # the test reads what was requested
    return client


@pytest.mark.anyio
async def test_a_plain_http_realm_of_a_tls_registry_gets_no_credentials() -> None:
    """The password would cross in clear text to an http:// realm named by an https registry:
    no token request is made and the `token` step says why."""
    async with challenging("http://auth.test/token") as client:
        session = Session(client, "https://reg.test", "ci", "canary-Realm-Passw0rd")
        assert await session.ping()
        assert not await session.fetch_token("repository:a/b:pull,push")
        assert client.asked == ["https://reg.test/v2/"]  # type: ignore[attr-defined]
    assert session.steps[-1].name == "token"
    assert session.steps[-1].detail == (
        "realm http://auth.test/token not asked: the registry is https, the realm is not"
    )
