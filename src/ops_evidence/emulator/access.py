"""API-key authentication and the read rate limit of the emulated Inter-Hub.

Keys are compared in constant time and never echoed: error bodies say *that* a key is
missing or unknown, not which.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ops_evidence.emulator.config import EmulatorConfig, RateLimitConfig
from ops_evidence.emulator.replies import ApiError


@dataclass(frozen=True)
class Consumer:
    """An authenticated API consumer."""

    name: str
    bound_to_manifest: bool


class Authenticator:
    """Maps the auth header to a consumer: 401 missing/unknown key, 403 not allowed."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._header = config.auth_header.lower()
        self._scheme = config.auth_scheme
        self._keys: list[tuple[bytes, str, bool, bool]] = []
        for c in config.consumers:
            if c.key is None:
                raise ValueError(f"consumer {c.name} has no key; call resolve_keys first")
            key = c.key.get_secret_value().encode()
            if any(hmac.compare_digest(key, known[0]) for known in self._keys):
                raise ValueError(f"consumer {c.name} shares its key with another consumer")
            self._keys.append((key, c.name, c.allowed, c.bound_to_manifest))

    def _presented(self, headers: Mapping[str, str]) -> bytes | None:
        value = headers.get(self._header, "").strip()
        if self._scheme:
            scheme, _, rest = value.partition(" ")
            if scheme.lower() != self._scheme.lower():
                return None
            value = rest.strip()
        return value.encode() if value else None

    def authenticate(self, headers: Mapping[str, str]) -> Consumer:
        """The consumer whose key was presented; ApiError 401/403 otherwise."""
        presented = self._presented(headers)
        if presented is None:
            raise ApiError(
                401,
                "unauthorized",
                "missing API key",
                {"WWW-Authenticate": self._scheme or "ApiKey"},
            )
        match = None
        # Compare against every key so timing does not reveal which one matched.
        for key, name, allowed, bound in self._keys:
            if hmac.compare_digest(key, presented):
                match = (name, allowed, bound)
        if match is None:
            raise ApiError(
                401,
                "unauthorized",
                "unknown API key",
                {"WWW-Authenticate": self._scheme or "ApiKey"},
            )
        name, allowed, bound = match
        if not allowed:
            raise ApiError(403, "forbidden", f"API consumer {name} is not allowed")
        return Consumer(name, bound)


class ReadLimiter:
    """Fixed-window read limit per consumer; 429 with Retry-After when exhausted."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def reset(self) -> None:
        """Forget every window (admin reset)."""
        self._windows.clear()

    def check(self, consumer: str) -> None:
        """Count one read; raise ApiError 429 with Retry-After (whole seconds) over the limit."""
        now = self._clock()
        start, used = self._windows.get(consumer, (now, 0))
        if now - start >= self._config.window_seconds:
            start, used = now, 0
        if used >= self._config.requests:
            wait = max(1, math.ceil(start + self._config.window_seconds - now))
            raise ApiError(
                429,
                "rate_limited",
                f"read rate limit of {self._config.requests} per "
                f"{self._config.window_seconds:g}s exceeded",
                {
                    "Retry-After": str(wait),
                    "X-RateLimit-Limit": str(self._config.requests),
                    "X-RateLimit-Remaining": "0",
                },
            )
        self._windows[consumer] = (start, used + 1)
