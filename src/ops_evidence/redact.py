"""Compaction and redaction: the one gate every event attribute and log line passes through.

Evidence never carries raw bodies, raw headers (only an allow-list), credentials, URL query
strings or userinfo, or token-like material. Values that the process knows to be secret
(`OPS_HUB_KEY`, passwords read from files) are registered and masked wherever they appear,
even where no pattern would catch them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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

_SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|auth(orization)?|credential"
    r"|cookie|session|private[-_]?key|signature|ops_hub_key|access[-_]?key|bearer)",
    re.IGNORECASE,
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:pass@host -> scheme://host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@"), r"\1"),
    # query strings and fragments of URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)[?#][^\s\"'<>]*"), r"\1"),
    # Authorization-style schemes
    (re.compile(r"(?i)\b(bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]{4,}"), rf"\1 {MASK}"),
    # JWT
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # PEM private keys
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        MASK,
    ),
    # key=value / key: value where the key names a secret. A value masked already is taken
    # whole, so redacting twice (a probe's message, then the event) changes nothing.
    (
        re.compile(
            r"(?i)([\"']?\b[\w.-]*" + _SECRET_NAME.pattern + r"[\w.-]*[\"']?\s*[=:]\s*)"
            r"(" + re.escape(MASK) + r"|\"[^\"]*\"|'[^']*'|[\"']?[^\s,;&\"'}\]]+)"
        ),
        rf"\1{MASK}",
    ),
    # long hex (digests, keys)
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), MASK),
    # long base64 / base64url runs with mixed character classes
    (
        re.compile(
            r"(?<![A-Za-z0-9+/_-])(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[a-z])"
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
    return bool(_KEY_VALUE_MARK.search(text) and _SECRET_NAME.search(text))


_lock = threading.Lock()
_registered: set[str] = set()
# Longest first, rebuilt on every registration (rare) so that redacting (constant) neither
# locks nor sorts: a tuple is replaced atomically, readers see the old or the new one.
_known: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Mask this exact value everywhere from now on (keys, passwords read at runtime)."""
    if value and len(value) >= MIN_REGISTERED_SECRET:
        global _known  # noqa: PLW0603 - copy-on-write snapshot, see above
        with _lock:
            if value in _registered:
                return
            _registered.add(value)
            _known = tuple(sorted(_registered, key=len, reverse=True))


def clear_registered_secrets() -> None:
    """Forget registered secrets (tests)."""
    global _known  # noqa: PLW0603 - copy-on-write snapshot, see above
    with _lock:
        _registered.clear()
        _known = ()


def is_secret_name(name: str) -> bool:
    """True when a field or header name says its value is a credential."""
    return bool(_SECRET_NAME.search(name))


def redact_text(text: str, *, limit: int = MAX_STRING) -> str:
    """Mask credentials and token-like material in free text, then cap its length."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, MASK)
    if _maybe_secret(text):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def redact(value: Any, *, depth: int = 0) -> Any:
    """Redact a JSON-like value: mask secret-named keys, scrub strings, cap sizes."""
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            name = redact_text(str(key), limit=100)
            out[name] = MASK if is_secret_name(str(key)) and item else redact(item, depth=depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        kept = [redact(item, depth=depth + 1) for item in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            kept.append(f"… {len(items) - MAX_ITEMS} more")
        return kept
    return value


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
        if name.lower() in allowed and not is_secret_name(name) and len(out) < 20:
            out[name] = redact_text(value, limit=200)
    return out
