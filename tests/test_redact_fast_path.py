"""The redaction fast path never changes a result: it only skips text no pattern can match."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ops_evidence import redact

_ALPHABET = st.sampled_from(
    [*"abcXYZ0123456789+/_-.=:@?# \n", "eyJ", "-----BEGIN ", "Bearer ", "token", "Pass", "://"]
)


def slow(text: str) -> str:
    """redact_text without the fast path."""
    for pattern, replacement in redact._PATTERNS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= redact.MAX_STRING else text[: redact.MAX_STRING - 1] + "…"


@settings(max_examples=2000)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_fast_path_is_equivalent(text: str) -> None:
    """For any text, the fast path gives exactly what every substitution would."""
    assert redact.redact_text(text) == slow(text)


def test_plain_values_pass_unchanged() -> None:
    """Ids, statuses and header values have nothing to redact."""
    assert redact.redact_text("registry/2.0") == "registry/2.0"
    assert redact.redact_text("a" * 31 + "B1") == redact.MASK
    assert redact.redact_text("http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000/v2/"
    assert redact.redact_text("x-token: abc") == f"x-token: {redact.MASK}"
