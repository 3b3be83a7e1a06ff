"""Identifier types: a model that uses them needs nothing else to have them kept verbatim."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, ValidationError

from ops_evidence.events.identifiers import (
    CommitId,
    Digest,
    Fingerprint,
    KeyType,
    Serial,
    Version,
    shapes_of,
)
from ops_evidence.redact import MASK, redact

FINGERPRINT = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
X509 = ":".join(["4F"] * 32)
DIGEST = "sha256:" + "44136fa3" * 8


class Certificate(BaseModel):
    """One certificate of a chain, as a TLS probe might record it."""

    subject: str
    serial: Serial
    fingerprint: Fingerprint


class Identity(BaseModel):
    """Attributes as another probe might add them: plain, optional, listed and nested."""

    host_key: Fingerprint | None = None
    host_key_type: KeyType | None = None
    accepted: list[Fingerprint] = Field(default_factory=list)
    chain: list[Certificate] = Field(default_factory=list)
    image: Digest | None = None
    commit: CommitId | None = None
    note: str | None = None


def test_identifiers_are_found_through_optional_lists_and_nested_models() -> None:
    """`shapes_of` finds every identifier field, and only those."""
    shapes = shapes_of(Identity)
    assert set(shapes) == {"host_key", "host_key_type", "accepted", "chain", "image", "commit"}
    assert set(shapes["chain"]) == {"serial", "fingerprint"}


def test_a_model_using_the_types_keeps_its_identifiers_and_masks_the_rest() -> None:
    """Every identifier survives redaction verbatim; the free text beside it does not."""
    secret = "hunter2-hunter2"
    attributes = Identity(
        host_key=FINGERPRINT,
        host_key_type="ssh-ed25519",
        accepted=[FINGERPRINT, X509],
        chain=[Certificate(subject=f"CN=x password={secret}", serial="0A:1B", fingerprint=X509)],
        image=DIGEST,
        commit="f" * 40,
        note="f" * 40,
    ).model_dump(mode="json")
    out = redact(attributes, shapes=shapes_of(Identity))
    assert out == {
        **attributes,
        "chain": [{"subject": f"CN=x password={MASK}", "serial": "0A:1B", "fingerprint": X509}],
        "note": MASK,  # untyped: 40 hex is a token in free text
    }
    assert secret not in json.dumps(out)


def test_a_value_of_another_shape_is_redacted_and_bounded() -> None:
    """A token put in an identifier field is masked; a value past the bound is cut to it."""
    token = "QWxhZGRpbjpPcGVuU2VzYW1lQWxhZGRpbjpPcGVuU2VzYW1l"
    out = redact({"host_key": token, "chain": [{"serial": "x" * 500}]}, shapes=shapes_of(Identity))
    assert out["host_key"] == MASK
    assert len(out["chain"][0]["serial"]) == 200


def test_the_model_bounds_the_length() -> None:
    """Built directly, an identifier longer than its bound is refused."""
    with pytest.raises(ValidationError):
        Identity(host_key_type="x" * 65)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Version, "1.2.3"),
        (Version, "v2.0.0-rc.1+build.5"),
        (Version, "5101eb5" + "0" * 33),
        (Version, "2026.06.14-3f9a1c2"),
        (Fingerprint, FINGERPRINT),
        (Fingerprint, X509),
        (Fingerprint, DIGEST),
        (Serial, "04:00:00:00:00:01:15:4b:5a:c3:94"),
        (KeyType, "ecdsa-sha2-nistp256"),
    ],
)
def test_real_identifiers_have_their_shape(kind: object, value: str) -> None:
    """Identifiers as tools print them are kept."""

    class One(BaseModel):
        value: kind  # type: ignore[valid-type]

    assert redact({"value": value}, shapes=shapes_of(One)) == {"value": value}
