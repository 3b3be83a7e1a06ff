"""Redaction in both directions: registered secrets never survive, in any encoding and in any
field; public identifiers and ordinary words always do."""

from __future__ import annotations

import base64
import json
import string
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import assume, given
from hypothesis import strategies as st

from ops_evidence.events.identifiers import attribute_shapes
from ops_evidence.events.types import AccessPathChecked, InventoryDrift, ServiceObserved
from ops_evidence.events.wire import event_attributes, progress_body
from ops_evidence.redact import (
    MASK,
    allowed_headers,
    redact,
    redact_field,
    redact_text,
    register_secret,
)

# Secrets as people choose them: printable, no whitespace (a passphrase's spaces would make
# it prose), at least MIN_REGISTERED_SECRET long.
secret = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation, min_size=8, max_size=40
)
prose = st.text(alphabet=string.ascii_letters + " .,", max_size=30)
hex40 = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__)
key_bytes = st.binary(min_size=32, max_size=32)
openssh = key_bytes.map(lambda b: "SHA256:" + base64.b64encode(b).decode().rstrip("="))
colon_hex = key_bytes.map(lambda b: ":".join(f"{x:02X}" for x in b))

SERVICE = attribute_shapes(ServiceObserved)


def encodings(value: str) -> list[str]:
    """Every spelling of a secret the canary tests cover: raw, in a URL (quoted, form-quoted),
    in JSON (escaped), base64 (both alphabets) and hex."""
    raw = value.encode()
    return [
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    ]


def service(**attributes: Any) -> ServiceObserved:
    """A service observation with the given attributes."""
    base = {"verified": True, "service": "api", "status": "up", "check": "http", "target": "t"}
    return ServiceObserved.build(context_key="service:api", attributes={**base, **attributes})


@given(canary=secret, before=prose, after=prose, form=st.integers(min_value=0, max_value=6))
def test_a_registered_secret_never_survives_in_free_text(
    canary: str, before: str, after: str, form: int
) -> None:
    """Raw, URL-quoted, JSON-escaped, base64 or hex, glued to other text: always masked."""
    spelled = encodings(canary)[form]
    assume(not any(s in before + after for s in encodings(canary)))
    register_secret(canary)
    out = redact_text(f"{before}{spelled}{after}")
    assert spelled not in out
    assert canary not in out


@given(canary=secret, form=st.integers(min_value=0, max_value=6))
def test_a_registered_secret_never_survives_in_an_identifier(canary: str, form: int) -> None:
    """Even a value of an identifier's shape (hex is a commit id) is masked when registered:
    in the event as built, and on the wire."""
    spelled = encodings(canary)[form]
    register_secret(canary)
    kept = redact_field(spelled, SERVICE["observed_version"])
    assert spelled not in kept
    assert canary not in kept
    wire = event_attributes(service(observed_version=spelled))["observed_version"]
    assert spelled not in wire
    assert canary not in wire


@given(canary=secret, name=st.sampled_from(["session_id", "observed_version", "note", "x"]))
def test_a_registered_secret_never_survives_under_any_key(canary: str, name: str) -> None:
    """Under a secret name, an identifier's name or a plain one, nested in lists and maps."""
    register_secret(canary)
    out = json.dumps(redact({"a": [{name: canary}], "b": f"x {canary} y"}, shapes=SERVICE))
    assert canary not in out


@given(declared=hex40, observed=hex40)
def test_commit_versions_survive(declared: str, observed: str) -> None:
    """Two 40-hex versions reach the event and both sinks' bodies unchanged, so they can
    differ."""
    event = service(declared_version=declared, observed_version=observed)
    wire = event_attributes(event)
    assert (wire["declared_version"], wire["observed_version"]) == (declared, observed)
    state_hub = progress_body(event, status="missing_widget_mapping")["detail"]["attributes"]
    assert (state_hub["declared_version"], state_hub["observed_version"]) == (declared, observed)
    shape = SERVICE["observed_version"]
    assert redact_field(observed, shape) == observed


@given(value=st.one_of(digest, openssh, colon_hex))
def test_digests_and_fingerprints_survive_in_drift_records(value: str) -> None:
    """A drift record quoting a digest or fingerprint keeps it, in the event and on the wire."""
    record = {"kind": "changed", "entity": "e", "attribute": "a", "declared": value}
    shapes = attribute_shapes(InventoryDrift)
    assert redact_field([record], shapes["records"]) == [record]
    event = InventoryDrift.build(
        context_key="environment:local", attributes={"verified": False, "records": [record]}
    )
    assert event_attributes(event)["records"][0]["declared"] == value


@given(value=st.one_of(digest, colon_hex), before=prose, after=prose)
def test_digests_and_fingerprints_survive_in_free_text(value: str, before: str, after: str) -> None:
    """`sha256:…` with its algorithm, and colon-hex fingerprints, are not tokens."""
    assert value in redact_text(f"{before} {value} {after}")


def test_openssh_fingerprints_survive_in_free_text() -> None:
    """OpenSSH's `SHA256:` base64 is a fingerprint, not a token."""
    fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
    assert redact_text(f"host key {fingerprint} changed") == f"host key {fingerprint} changed"


@given(
    text=st.sampled_from(
        [
            "passed: {n}",
            "author: {w}",
            "session_count: {n}",
            "tokenizer: {w}",
            "bypass={w}",
            "cannot read file /x/secret.txt: No such file or directory ({n})",
            "/run/secrets/db_password: No such file or directory",
            '401 Unauthorized: {{"error":"{w}"}}',
            "error: {w} failed",
            "file: /srv/{w}",
            "can not acquire a passphrase: BORG_PASSPHRASE is not set.",
        ]
    ),
    n=st.integers(min_value=0, max_value=10**6),
    w=st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12),
)
def test_ordinary_words_survive(text: str, n: int, w: str) -> None:
    """A secret word inside another word, or before an OS error or a variable's name, is not
    a key with a value."""
    line = text.format(n=n, w=w)
    assert redact_text(line) == line


@given(
    value=st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=8, max_size=40),
    template=st.sampled_from(
        [
            "password: {v}",
            "api_key={v}",
            "Authorization: Bearer {v}",
            "Authorization: Bearer {short}",
            "db_pass={v}",
            "X-Auth-Token: {v}",
            "PGPASSWORD={v}",
            "session={v}",
            '{{"client_secret": "{v}"}}',
        ]
    ),
)
def test_secret_names_as_whole_words_lose_their_value(value: str, template: str) -> None:
    """A key whose last word names a secret is masked, whatever the value (a credential after
    a scheme word, however short)."""
    assume(value not in template)
    out = redact_text(template.format(v=value, short=value[0]))
    assert value not in out
    assert MASK in out
    if "{short}" in template:
        assert out == f"Authorization: {MASK}"


def test_allow_listed_headers_beat_the_name_rule() -> None:
    """`WWW-Authenticate` is a challenge: quoted, realm and all; credentials are not."""
    challenge = 'Bearer realm="https://auth.test/token",service="registry"'
    headers = [("WWW-Authenticate", challenge), ("Set-Cookie", "s=1"), ("X-Api-Key", "k")]
    assert allowed_headers(headers) == {"WWW-Authenticate": challenge}
    assert allowed_headers(headers, {"x-api-key"}) == {}


def test_identifier_attributes_of_other_types_are_found() -> None:
    """The shapes come from the models: a version of any event type is an identifier."""
    assert "kubernetes_version" in attribute_shapes(AccessPathChecked)
    assert set(attribute_shapes(InventoryDrift)["records"]) == {"declared", "observed"}


def test_a_token_in_a_version_field_is_still_masked() -> None:
    """The shape check is what keeps a value: a base64 token labelled a version is not one."""
    token = "QWxhZGRpbjpPcGVuU2VzYW1lQWxhZGRpbjpPcGVuU2VzYW1l"
    assert redact_field(token, SERVICE["observed_version"]) == MASK
    assert redact_field(f"password={token}", SERVICE["observed_version"]) == f"password={MASK}"
