"""Compaction and redaction: the one gate every event attribute and log line passes through.

Evidence never carries raw bodies, raw headers (only an allow-list), credentials, URL query
strings or userinfo, or token-like material. Values that the process knows to be secret
(`OPS_HUB_KEY`, passwords read from files) are registered and masked wherever they appear,
even where no pattern would catch them, also URL-quoted, JSON-escaped and base64-encoded.

Three rules keep evidence readable:

- A key names a secret when its last word does (`password`, `db_password`, `api_key`,
  `X-Auth-Token`); a secret word inside another word does not count (`passed`, `author`,
  `session_count`, `tokenizer`). A value that is itself a variable's name
  (`passphrase: BORG_PASSPHRASE is not set`) or an OS error (`token: No such file or
  directory`) is not a value.
- Public identifiers are kept verbatim where the event model types them as identifiers
  (`events.identifiers`): the model passes their shapes to `redact(..., shapes=...)`, and a
  value of the declared shape escapes the patterns (registered secrets are still masked).
  In free text a digest or fingerprint with its algorithm (`sha256:…`, `SHA256:…`) is kept.
- Headers on `HEADER_ALLOW_LIST` are quoted even when their name sounds secret.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "[REDACTED]"
MAX_STRING = 500
MAX_ITEMS = 50
MAX_DEPTH = 12
MIN_REGISTERED_SECRET = 6

# Headers that may be quoted in evidence; everything else is dropped, not masked.
HEADER_ALLOW_LIST = frozenset(
    {
        "docker-distribution-api-version",
        "content-type",
        "server",
        "location",
        "www-authenticate",
        "x-version",
        "strict-transport-security",
        "retry-after",
    }
)

# A coarse test for the fast path: any of these substrings may start a secret name.
_SECRET_HINT = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|auth(orization)?|credential"
    r"|cookie|session|private[-_]?key|signature|ops_hub_key|access[-_]?key|bearer|pwd)",
    re.IGNORECASE,
)
# The exact rule. A name is a secret's when it ends in one of _ENDS (glued or not: `PGPASSWORD`,
# `csrftoken`), or its last word, after `_`, `-`, `.` or a space, is one of _WORDS (`auth`
# alone, not `author`). A trailing form word or number (`password_b64`, `signature-256`)
# does not make it public.
_ENDS = (
    r"(?:password|passwd|passphrase|pwd|secret|token|credential|cookie|signature|bearer"
    r"|authorization|sessionid|session[-_. ]id|apikey|(?:api|access|secret|private|hub)[-_. ]key)s?"
)
_WORDS = r"(?:pass|auth|session)"
_FORM = r"(?:[-_. ](?:value|b64|base64|hex|raw|plain|text|str|string|encoded|data|\d+))?"
_SECRET_NAME = re.compile(rf"(?i)(?:.*[^a-z0-9])?{_WORDS}{_FORM}|.*{_ENDS}{_FORM}", re.DOTALL)
# The same rule inside free text, on a key made of `[\w.-]` characters.
_KEY_IN_TEXT = rf"(?:[\w.-]*[_.-])?{_WORDS}{_FORM}|[\w.-]*?{_ENDS}{_FORM}"
# What follows `key:` without being its value: an OS error, or a variable's name said to be
# unset (a value has no spaces, so neither can be one).
_NOT_A_VALUE = (
    r"(?!No such file or directory|Permission denied|Is a directory|Not a directory"
    r"|(?-i:[A-Z][A-Z0-9_]*) is not set)"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:pass@host -> scheme://host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@"), r"\1"),
    # query strings and fragments of URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)[?#][^\s\"'<>]*"), r"\1"),
    # Authorization-style schemes, but not a challenge's parameters (`Bearer realm="…"`)
    (
        re.compile(r"(?i)\b(bearer|basic|token|digest)\s+(?![a-z][\w-]*=\")[A-Za-z0-9._~+/=-]{4,}"),
        rf"\1 {MASK}",
    ),
    # JWT
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # PEM private keys
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        MASK,
    ),
    # key=value / key: value where the key names a secret, with its scheme word if it has one
    # (`Authorization: Bearer x`, however short x). A value masked already is taken whole, so
    # redacting twice (a probe's message, then the event) changes nothing.
    (
        re.compile(
            r"(?i)((?<![\w.-])[\"']?(?:"
            + _KEY_IN_TEXT
            + r")[\"']?\s*[=:]\s*)"
            + _NOT_A_VALUE
            + r"((?:(?:bearer|basic|digest|token)\s+)?(?:"
            + re.escape(MASK)
            + r"|\"[^\"]*\"|'[^']*'|[\"']?[^\s,;&\"'}\]]+))"
        ),
        rf"\1{MASK}",
    ),
    # long hex (digests, keys), unless an algorithm names it a digest: `sha256:…` is public
    (re.compile(r"(?i)(?<!sha1:)(?<!sha256:)(?<!sha384:)(?<!sha512:)\b[0-9a-f]{32,}\b"), MASK),
    # long base64 / base64url runs with mixed character classes, except an OpenSSH
    # fingerprint (`SHA256:` and its base64)
    (
        re.compile(
            r"(?<![A-Za-z0-9+/_-])(?<!SHA256:)(?<!SHA384:)(?<!SHA512:)"
            r"(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[a-z])"
            r"(?=[A-Za-z0-9+/_-]*[A-Z])[A-Za-z0-9+/_-]{32,}={0,2}"
        ),
        MASK,
    ),
)

# Every pattern above needs one of these to match (userinfo `@`, query `?#`, whitespace after
# a scheme word, a JWT's `eyJ`, a PEM header, a 32+ run of token characters, or `=`/`:` next
# to a secret-like name). Text without them skips the substitutions: most attribute values
# (ids, statuses, header values, plain URLs, context keys) are such text, and every probe
# redacts dozens of them.
_MAYBE_SECRET = re.compile(r"[@?#\s]|eyJ|-----BEGIN|[A-Za-z0-9+/_-]{32}")
_KEY_VALUE_MARK = re.compile(r"[=:]")


def _maybe_secret(text: str) -> bool:
    if _MAYBE_SECRET.search(text):
        return True
    return bool(_KEY_VALUE_MARK.search(text) and _SECRET_HINT.search(text))


_lock = threading.Lock()
_registered: set[str] = set()
# Longest first, rebuilt on every registration (rare) so that redacting (constant) neither
# locks nor sorts: a tuple is replaced atomically, readers see the old or the new one.
_known: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (keys, passwords read at runtime), also
    as it reads URL-quoted, JSON-escaped, base64 (either alphabet) or hex-encoded on its own."""
    if value and len(value) >= MIN_REGISTERED_SECRET:
        global _known  # noqa: PLW0603 - copy-on-write snapshot, see above
        with _lock:
            if value in _registered:
                return
            _registered.add(value)
            _known = tuple(sorted(_registered | _encoded(_registered), key=len, reverse=True))


def _encoded(values: set[str]) -> set[str]:
    """The other spellings of each value (an alphanumeric one quotes and escapes to itself)."""
    forms: set[str] = set()
    for value in values:
        raw = value.encode()
        forms |= {quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        forms |= {base64.b64encode(raw).decode().rstrip("="), raw.hex()}
        forms.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return forms


def clear_registered_secrets() -> None:
    """Forget registered secrets (tests)."""
    global _known  # noqa: PLW0603 - copy-on-write snapshot, see above
    with _lock:
        _registered.clear()
        _known = ()


def is_secret_name(name: str) -> bool:
    """True when a field or header name says its value is a credential."""
    # The coarse search first: most names (`status`, `url`, `latency_ms`) hold no hint.
    return bool(_SECRET_HINT.search(name) and _SECRET_NAME.fullmatch(name))


def redact_text(text: str, *, limit: int = MAX_STRING) -> str:
    """Mask credentials and token-like material in free text, then cap its length."""
    text = _mask_registered(text)
    if _maybe_secret(text):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return _cap(text, limit)


def _mask_registered(text: str) -> str:
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


Shape: TypeAlias = tuple[re.Pattern[str], int]
"""An identifier's shape: the pattern a whole value must match, and its length bound."""
Shapes: TypeAlias = Mapping[str, "Shape | Shapes"]
"""Where a value holds public identifiers: attribute name -> the identifier's shape, or the
shapes inside a nested mapping (a list's items share its shapes). `events.identifiers`
derives them from an event model; nothing else should need to write one."""


_NO_SHAPES: Shapes = {}


def keep_identifier(value: Any, shape: Shape) -> Any:
    """An identifier verbatim when it has its shape (registered secrets still masked), else
    redacted as free text; either way no longer than its bound; a list item by item."""
    pattern, limit = shape
    if isinstance(value, str):
        if len(value) <= limit and pattern.fullmatch(value):
            return _mask_registered(value)
        return redact_text(value, limit=limit)
    if isinstance(value, list | tuple):
        return [keep_identifier(item, shape) for item in value[:MAX_ITEMS]]
    return redact(value)


def redact(value: Any, *, depth: int = 0, shapes: Shapes | None = None) -> Any:
    """Redact a JSON-like value: mask secret-named keys, scrub strings, cap sizes. `shapes`
    names the identifiers in it, which are kept verbatim when they have their shape."""
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return _redact_mapping(value, depth, shapes or _NO_SHAPES)
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        kept = [redact(item, depth=depth + 1, shapes=shapes) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            kept.append(f"… {len(items) - MAX_ITEMS} more")
        return kept
    return value


def _redact_mapping(value: Mapping[Any, Any], depth: int, shapes: Shapes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index >= MAX_ITEMS:
            out["…"] = f"{len(value) - MAX_ITEMS} more"
            break
        name = redact_text(str(key), limit=100)
        shape = shapes.get(key)
        # A declared identifier beats the name rule, as the header allow-list does.
        if shape is None and is_secret_name(str(key)) and item:
            out[name] = MASK
        else:
            out[name] = redact_field(item, shape, depth=depth + 1)
    return out


def redact_field(value: Any, shape: Shape | Shapes | None, *, depth: int = 0) -> Any:
    """Redact one attribute's value given its entry in `Shapes` (None: no identifiers)."""
    if isinstance(shape, tuple):
        return keep_identifier(value, shape)
    return redact(value, depth=depth, shapes=shape)


def compact_url(url: str) -> str:
    """Scheme, host, port and path only: no userinfo, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return redact_text(url, limit=200)
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, "", "")), limit=200)


def allowed_headers(
    headers: Iterable[tuple[str, str]], allow: Iterable[str] = HEADER_ALLOW_LIST
) -> dict[str, str]:
    """Keep only allow-listed headers (case-insensitive), redacted and capped."""
    allowed = {name.lower() for name in allow}
    out: dict[str, str] = {}
    for name, value in headers:
        # The built-in list beats the name rule (`www-authenticate` is a challenge, not a
        # credential); a name a caller adds must also pass it.
        lowered = name.lower()
        public = lowered in HEADER_ALLOW_LIST or not is_secret_name(name)
        if lowered in allowed and public and len(out) < 20:
            out[name] = redact_text(value, limit=200)
    return out
