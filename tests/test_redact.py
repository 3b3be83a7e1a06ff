"""Redaction: canary secrets placed in every position never survive."""

from __future__ import annotations

import json
import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ops_evidence.redact import (
    MASK,
    allowed_headers,
    compact_url,
    redact,
    redact_text,
    register_secret,
)

# Canaries look like real credentials: no spaces, mixed characters, at least 8 long.
canary = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=8, max_size=40)
hexes = st.text(alphabet="0123456789abcdef", min_size=32, max_size=80)
prose = st.text(alphabet=string.ascii_letters + " .,", max_size=40)
secret_names = st.sampled_from(
    [
        "password",
        "PASSWORD",
        "db_password",
        "api_key",
        "apiKey",
        "token",
        "access_token",
        "secret",
        "client_secret",
        "Authorization",
        "OPS_HUB_KEY",
        "passphrase",
    ]
)


@given(user=canary, password=canary, query=canary, before=prose, after=prose)
def test_url_userinfo_and_query_are_removed(
    user: str, password: str, query: str, before: str, after: str
) -> None:
    """A URL in free text keeps scheme, host and path only."""
    assume(password not in before + after and query not in before + after)
    text = f"{before} https://{user}:{password}@example.test/v2/?token={query}&x=1 {after}"
    out = redact_text(text)
    assert password not in out
    assert query not in out
    assert "https://example.test/v2/" in out


@given(value=canary, name=secret_names, sep=st.sampled_from(["=", ": ", "=", '": "']))
def test_key_value_secrets_are_masked(value: str, name: str, sep: str) -> None:
    """`password=…`, `token: …` and JSON-ish pairs lose their value."""
    out = redact_text(f"config {name}{sep}{value} end")
    assert value not in out
    assert MASK in out


@given(value=canary, name=secret_names, sep=st.sampled_from(["=", ": ", '": "']), before=prose)
def test_redacting_twice_changes_nothing(value: str, name: str, sep: str, before: str) -> None:
    """Text is often redacted twice (a probe's message, then the event): the second pass
    leaves it as it is, so it neither grows nor differs."""
    once = redact_text(f"{before} {name}{sep}{value} end https://u:p@h.test/x?token={value}")
    assert redact_text(once) == once


@given(token=canary, scheme=st.sampled_from(["Bearer", "bearer", "Basic", "Token"]))
def test_authorization_schemes_are_masked(token: str, scheme: str) -> None:
    """Whatever follows an auth scheme is masked."""
    # A canary such as "Authoriz" is found in the fixed text itself, masked or not.
    assume(token not in f"header Authorization: {scheme} ")
    assert token not in redact_text(f"header Authorization: {scheme} {token}")


@given(digest=hexes, before=prose)
def test_long_hex_is_masked(digest: str, before: str) -> None:
    """32+ hex characters look like a key or digest and are masked."""
    assume(digest not in before)
    assert digest not in redact_text(f"{before} {digest} tail")


def test_jwt_and_base64_are_masked() -> None:
    """JWTs and long mixed-case base64 runs are masked; short ids stay readable."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    b64 = "QWxhZGRpbjpPcGVuU2VzYW1lQWxhZGRpbjpPcGVuU2VzYW1l"
    out = redact_text(f"a {jwt} b {b64} c run 20261123T013320.123456.3f9a1c2b")
    assert jwt not in out
    assert b64 not in out
    assert "20261123T013320.123456.3f9a1c2b" in out


@given(secret=canary, before=prose, after=prose)
def test_registered_secrets_are_masked_anywhere(secret: str, before: str, after: str) -> None:
    """A registered value (e.g. OPS_HUB_KEY) is masked even inside ordinary words."""
    assume(secret not in before + after)
    register_secret(secret)
    assert secret not in redact_text(f"{before}{secret}{after}")


@settings(max_examples=50)
@given(secret=canary, name=secret_names, nest=st.integers(min_value=0, max_value=4))
def test_nested_structures_mask_secret_named_keys(secret: str, name: str, nest: int) -> None:
    """A secret-named key is masked at any depth, in dicts and lists."""
    # The key name and the untouched neighbours stay in the output: a "secret" spelled
    # like part of them would be found there, not leaked (hypothesis found `OPS_HUB_`).
    assume(secret not in json.dumps({name: "[REDACTED]", "inner": [], "fine": "ok"}))
    value: object = {name: secret, "fine": "ok"}
    for _ in range(nest):
        value = {"inner": [value]}
    out = json.dumps(redact(value))
    assert secret not in out
    assert "ok" in out


def test_sizes_are_capped() -> None:
    """Strings, lists and dicts are capped so one attribute cannot flood an event."""
    out = redact({"body": "x" * 10_000, "items": list(range(500))})
    assert len(out["body"]) <= 500
    assert len(out["items"]) == 51


def test_compact_url() -> None:
    """compact_url keeps scheme, host, port and path."""
    assert compact_url("https://u:p@h.test:8443/v2/?q=1#f") == "https://h.test:8443/v2/"
    assert compact_url("http://[::1]:80/x") == "http://[::1]:80/x"


def test_headers_allow_list() -> None:
    """Only allow-listed headers are kept; cookies and auth never are."""
    headers = [
        ("Docker-Distribution-Api-Version", "registry/2.0"),
        ("Set-Cookie", "session=abc"),
        ("Authorization", "Bearer xyz"),
        ("X-Other", "1"),
    ]
    assert allowed_headers(headers) == {"Docker-Distribution-Api-Version": "registry/2.0"}
