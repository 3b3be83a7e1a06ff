"""One publish's conversation with a registry: requests, and the auth its challenge asks for.

`GET /v2/` without credentials tells the scheme: 200 needs none, a `Basic` challenge takes the
declared username and password on every request, a `Bearer` challenge names a token realm.
When `/v2/` is open, the first later request that answers a challenge sets the scheme.
The token is fetched from the realm (Basic credentials, `service`, `scope`) and fetched again
for the scope a later `401` challenge names (distribution asks for `*` to delete). A token
is only a claim: what it was granted is recorded when the realm or the token says, and only
the push and pull answers are evidence. The token and password are registered for redaction
as soon as they are read, and never put in a step.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from ops_evidence.checks.base import Failure
from ops_evidence.checks.errors import failure_from
from ops_evidence.redact import compact_url, register_secret

AuthScheme = Literal["none", "basic", "bearer"]
# Registry answers read by the check are small (a manifest, a 64-byte blob, an error); a
# larger body is cut, and a cut manifest or blob fails its digest comparison.
MAX_BODY = 1 << 20
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Step:
    """One request of the flow as evidence: its status, the digest it concerns, the verdict."""

    name: str
    status: int | None
    ok: bool
    digest: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A response read whole (capped), or the network failure instead."""

    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = field(default=b"", repr=False)
    failure: Failure | None = None

    def error_code(self) -> str | None:
        """The first OCI error code of the body (`DENIED`, `UNSUPPORTED`), lowercased."""
        try:
            errors = json.loads(self.body).get("errors") or []
            code = errors[0].get("code")
        except (ValueError, AttributeError, IndexError, TypeError):
            return None
        return str(code).lower()[:40] if code else None


def challenge(headers: httpx.Headers) -> tuple[str, dict[str, str]] | None:
    """The scheme and parameters of a `WWW-Authenticate` header, lowercased scheme."""
    value = headers.get("www-authenticate")
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


def granted_by(document: dict[str, Any], token: str) -> str | None:
    """What the realm says it granted: its `scope`, else the token's `access` claim (read,
    not trusted: the token is not verified here, the registry does that)."""
    if isinstance(document.get("scope"), str):
        return str(document["scope"])[:200]
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        access = claims["access"]
        return " ".join(f"{a['type']}:{a['name']}:{','.join(a['actions'])}" for a in access)[:200]
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        return None


@dataclass
class Session:
    """The client, the registry's origin, the credentials and what auth has found out."""

    client: httpx.AsyncClient
    base: str
    username: str | None
    password: str | None
    steps: list[Step] = field(default_factory=list)
    scheme: AuthScheme = "none"
    granted_scope: str | None = None
    # The step whose request is under way (or was last made): what a timeout names as hung.
    pending: str | None = None
    _realm: dict[str, str] = field(default_factory=dict)
    _token: str | None = field(default=None, repr=False)

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        follow: bool = False,
        auth: bool = True,
    ) -> Answer:
        """One request with the current auth; a network failure is an `Answer`, not raised."""
        target = url if url.startswith(("http://", "https://")) else self.base + url
        all_headers = {"Accept-Encoding": "identity", **(headers or {})}
        # Credentials go to the registry's own origin only, not to a host a `Location` names.
        if auth and _origin(target) == _origin(self.base):
            all_headers.update(self._authorization())
        try:
            request = self.client.build_request(
                method, target, headers=all_headers, content=content
            )
            response = await self.client.send(request, stream=True, follow_redirects=follow)
            try:
                body = await _read_capped(response)
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            return Answer(failure=failure_from(exc, compact_url(target)))
        return Answer(response.status_code, response.headers, body)

    async def authorised(self, step: str, method: str, url: str, **kwargs: Any) -> Answer:
        """`send` for `step`, and once more with a new token when a Bearer challenge asks for
        a scope, or with the declared credentials when a registry whose `/v2/` was open asks
        Basic."""
        self.pending = step
        answer = await self.send(method, url, **kwargs)
        found = challenge(answer.headers) if answer.status == 401 else None
        if found is not None and self.scheme == "none" and found[0] in ("basic", "bearer"):
            # An open `/v2/` does not make the rest open: the first request that asks decides.
            self.scheme = "basic" if found[0] == "basic" else "bearer"
            self._realm = found[1]
            if self.scheme == "basic" and self.password is not None:
                return await self.send(method, url, **kwargs)
        scope = found[1].get("scope") if found is not None and found[0] == "bearer" else None
        if self.scheme == "bearer" and scope and await self.fetch_token(scope):
            self.pending = step
            answer = await self.send(method, url, **kwargs)
        return answer

    def _authorization(self) -> dict[str, str]:
        if self.scheme == "basic":
            return self._basic()
        if self.scheme == "bearer" and self._token is not None:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    async def ping(self) -> bool:
        """`GET /v2/` unauthenticated: learn the scheme from the answer (a step either way)."""
        self.pending = "ping"
        answer = await self.send("GET", "/v2/", auth=False)
        found = challenge(answer.headers) if answer.status == 401 else None
        if found is not None and found[0] in ("basic", "bearer"):
            self.scheme = "basic" if found[0] == "basic" else "bearer"
            self._realm = found[1]
        ok = answer.status == 200 or (answer.status == 401 and found is not None)
        detail = _ping_detail(answer, found)
        self.steps.append(Step("ping", answer.status, ok, detail=detail))
        return ok

    async def fetch_token(self, scope: str) -> bool:
        """A token for `scope` from the challenge's realm; a `token` step records the answer."""
        realm = self._realm.get("realm", "")
        if not realm.startswith(("https://", "http://")) or (
            realm.startswith("http://") and self.base.startswith("https://")
        ):
            # Credentials go to the realm: never in clear text when the registry itself is TLS.
            # (No "token <word>" in details: redaction would take the word for a token.)
            where = compact_url(realm) or "(none)"
            detail = f"realm {where} not asked: the registry is https, the realm is not"
            self.steps.append(Step("token", None, False, detail=detail))
            return False
        params = {"scope": scope, **({"service": s} if (s := self._realm.get("service")) else {})}
        self.pending = "token"
        answer = await self._token_request(realm, params)
        token = _token_of(answer)
        if token is None:
            self.steps.append(Step("token", answer.status, False, detail=_token_detail(answer)))
            return False
        register_secret(token)
        self._token = token
        granted = granted_by(json.loads(answer.body), token)
        # The evidence keeps the grant for the push and pull; a later one (delete) is a step's.
        self.granted_scope = self.granted_scope or granted
        detail = f"asked {scope}; granted {granted or 'not stated'}"
        self.steps.append(Step("token", answer.status, True, detail=detail))
        return True

    async def _token_request(self, realm: str, params: dict[str, str]) -> Answer:
        url = str(httpx.URL(realm).copy_merge_params(params))
        return await self.send("GET", url, headers=self._basic(), auth=False)

    def _basic(self) -> dict[str, str]:
        """The Basic `Authorization` header of the declared user, if one is declared."""
        if self.username is None or self.password is None:
            return {}
        pair = f"{self.username}:{self.password}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _ping_detail(answer: Answer, found: tuple[str, dict[str, str]] | None) -> str:
    if answer.failure is not None:
        return answer.failure.message
    if answer.status == 200:
        return "no auth asked"
    if found is None:
        return f"unexpected answer {answer.status}"
    return f"challenge: {found[0]}"  # `bearer <word>` would read as a token to redaction


def _token_of(answer: Answer) -> str | None:
    if answer.status != 200:
        return None
    try:
        document = json.loads(answer.body)
        token = document.get("token") or document.get("access_token")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def _token_detail(answer: Answer) -> str:
    if answer.failure is not None:
        return answer.failure.message
    if answer.status == 200:
        return "realm answer has no `token` or `access_token`"
    return f"realm answered {answer.status}"


async def _read_capped(response: httpx.Response) -> bytes:
    # Decoded bytes: were a proxy to compress despite `identity`, the digest is still of the
    # content the registry stored.
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk[: MAX_BODY - size])
        size += len(chunks[-1])
        if size >= MAX_BODY:
            break
    return b"".join(chunks)
