"""Public identifiers in event attributes: typed, bounded, shape-checked, kept verbatim.

Redaction masks anything that looks like a token, and a commit id, a digest or a fingerprint
does. Typing an attribute with one of the types below tells redaction it is an identifier:

    from ops_evidence.events.identifiers import Fingerprint, KeyType

    class AccessPathCheckedAttributes(Attributes):
        host_key_fingerprint: Fingerprint | None = None
        host_key_type: KeyType | None = None
        chain_fingerprints: list[Fingerprint] = Field(default_factory=list)

That is all: `probes.base.make_event`, `events.wire.event_attributes` and the State Hub body
read the shapes from the model (`shapes_of`), so a value of the declared shape reaches the
sinks exactly as observed, also inside nested models and lists of them (pass them to
`make_event` as dicts, `model_dump()`); a `dict[str, X]` is not looked into. Hand the probe's
raw value to `make_event`: redacting it first as text would mask it. A value of another shape
(or longer than the bound) is redacted as free text and cut to the bound, so a mislabelled
secret is still masked; registered secrets are masked always.

A new kind of identifier is one more `Annotated[str, Identifier(kind, pattern, max_length)]`
here; keep its pattern tight (a long mixed-case base64 run is what a token looks like, and
`Version` refuses one). The JSON Schema marks each such attribute with `x-identifier`.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from ops_evidence.events.envelope import EvidenceEvent
from ops_evidence.redact import Shape, Shapes


@dataclass(frozen=True, slots=True)
class Identifier:
    """Marks a `str` as a public identifier of `kind`: kept when it matches `pattern` whole,
    at most `max_length` characters."""

    kind: str
    pattern: str
    max_length: int

    @property
    def shape(self) -> Shape:
        """What `redact` needs: the compiled pattern (once per pattern) and the bound."""
        return _compiled(self.pattern), self.max_length

    def __get_pydantic_core_schema__(
        self, source: Any, handler: typing.Callable[[Any], CoreSchema]
    ) -> CoreSchema:
        """A string of at most `max_length` characters."""
        return core_schema.str_schema(max_length=self.max_length)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The string schema, marked as an identifier of its kind."""
        value = handler(schema)
        value["x-identifier"] = self.kind
        return value


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_HEX2 = r"[0-9A-Fa-f]{2}"
# A version segment: hex (a commit id), letters, digits, or a short mix (`rc1`, `g3f9a1c2`).
# A long run mixing letters and digits that is not hex is what a token looks like.
_SEGMENT = r"(?:[0-9A-Fa-f]{7,64}|[A-Za-z]{1,31}|[0-9]{1,31}|[A-Za-z0-9]{1,15})"
_DIGEST = r"(?:sha1|sha224|sha256|sha384|sha512|md5):[0-9a-f]{32,128}"
_VERSION = rf"{_DIGEST}|v?{_SEGMENT}(?:[._+~-]{_SEGMENT}){{0,15}}"
_FINGERPRINT = (
    r"(?:SHA256|SHA384|SHA512):[A-Za-z0-9+/]{43,86}={0,2}"
    rf"|MD5(?::{_HEX2}){{16}}|{_HEX2}(?::{_HEX2}){{15,63}}|{_DIGEST}"
)
_SERIAL = rf"{_HEX2}(?::{_HEX2}){{0,31}}|[0-9A-Fa-f]{{1,64}}"

Version = Annotated[str, Identifier("version", _VERSION, 128)]
"""A release or build: `1.2.3`, `v2.0.0-rc.1+build.5`, a 7-64 hex commit id, a digest."""

CommitId = Annotated[str, Identifier("commit", r"[0-9a-f]{7,64}", 64)]
"""A git (or other VCS) commit id, abbreviated or whole."""

Digest = Annotated[str, Identifier("digest", _DIGEST, 140)]
"""A content digest with its algorithm: `sha256:44136fa3…`."""

Fingerprint = Annotated[str, Identifier("fingerprint", _FINGERPRINT, 200)]
"""A certificate or key fingerprint: OpenSSH `SHA256:base64` or `MD5:aa:bb:…`, X.509
colon-hex (`AB:CD:…`, 16 to 64 bytes), or a digest (`sha256:hex`)."""

Serial = Annotated[str, Identifier("serial", _SERIAL, 200)]
"""A certificate serial number: colon-separated hex (`0A:1B:…`), or plain hex or decimal."""

KeyType = Annotated[str, Identifier("key-type", r"[a-z0-9][a-z0-9@.-]{0,63}", 64)]
"""An SSH key or TLS public-key type: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `rsa`."""

SnapshotId = Annotated[str, Identifier("snapshot", r"[0-9a-f]{8,64}", 64)]
"""A backup snapshot or archive id (restic, borg): 8-64 hex."""

ArchiveName = Annotated[str, Identifier("archive", r"[A-Za-z0-9][A-Za-z0-9._@+:-]{0,199}", 200)]
"""A backup archive's name (`host-2026-06-14T02:00:00`): no spaces, no `=`."""

ScratchTag = Annotated[
    str, Identifier("scratch-tag", r"ops-evidence-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}", 64)
]
"""The unique tag a registry publish pushes under: `ops-evidence-<utc time>-<8 hex>`."""

EvidenceValue = Annotated[str, Identifier("evidence", f"{_VERSION}|{_FINGERPRINT}|{_SERIAL}", 200)]
"""A value quoted from evidence that was redacted already (a drift record's declared and
observed values): kept when it has the shape of a version, digest, fingerprint or serial,
else redacted again as free text (which changes redacted text no further)."""


def attribute_shapes(event_model: type[EvidenceEvent]) -> Shapes:
    """The shapes of an event type's attributes (its `attributes` field's model)."""
    attributes = event_model.model_fields["attributes"].annotation
    assert isinstance(attributes, type)  # every event type names its attributes' model
    assert issubclass(attributes, BaseModel)
    return shapes_of(attributes)


@cache
def shapes_of(model: type[BaseModel]) -> Shapes:
    """Field name -> identifier shape (or the shapes inside a nested model), for `redact`."""
    shapes: dict[str, Shape | Shapes] = {}
    for name, info in model.model_fields.items():
        shape = _shape(info.annotation, info.metadata)
        if shape:
            shapes[name] = shape  # the names make_event takes and model_dump gives
    return shapes


def _shape(annotation: Any, metadata: typing.Iterable[Any] = ()) -> Shape | Shapes:
    """The shape an annotation declares: its Identifier, or a nested model's shapes, looked
    for through `X | None`, `list[X]` and `Annotated[X, …]`."""
    for item in metadata:
        if isinstance(item, Identifier):
            return item.shape
    if typing.get_origin(annotation) is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _shape(inner, extra)
    if isinstance(annotation, type):
        return shapes_of(annotation) if issubclass(annotation, BaseModel) else {}
    for arg in typing.get_args(annotation):
        found = _shape(arg)
        if found:
            return found
    return {}
