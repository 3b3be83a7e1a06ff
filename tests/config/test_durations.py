"""Human durations and sizes parse exactly and reject nonsense."""

from datetime import timedelta

import pytest

from ops_evidence.config.durations import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("26h", 93600),
        ("7d", 604800),
        ("1h30m", 5400),
        ("500ms", 0.5),
        (15, 15),
    ],
)
def test_parses_human_durations(text: str | int, seconds: float) -> None:
    """Each accepted spelling yields the exact number of seconds."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "m5", "-5s", "1h-", True, None])
def test_rejects_bad_durations(text: object) -> None:
    """Anything that is not a duration is a ValueError naming the input shape."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_round_trips() -> None:
    """format_duration is the inverse of parse_duration for compound values."""
    for text in ("1d2h3m4s", "500ms", "0s", "26h"):
        value = parse_duration(text)
        assert parse_duration(format_duration(value)) == value


def test_sizes() -> None:
    """Binary and decimal units both work; garbage does not."""
    assert parse_size("1MiB") == 1048576
    assert parse_size("500 MB") == 500_000_000
    assert parse_size(42) == 42
    with pytest.raises(ValueError, match="size"):
        parse_size("lots")
