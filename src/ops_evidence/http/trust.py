"""TLS client contexts: one trust store for probes and sinks, built once per distinct need.

Building a context loads the whole CA store (milliseconds of CPU, and 1-3 MB of memory that
stays with the context), so contexts are cached and shared. Sharing a context does not share
connections: each probe still opens its own, each sink client keeps its own pool.

Trust is the system store, which OpenSSL also lets `SSL_CERT_FILE` / `SSL_CERT_DIR` replace
(the way to add a private CA for Inter-Hub or State Hub); an inventory check may name its own
`ca_file`. A `ca_file` that cannot be loaded is the inventory's mistake, not the network's:
`CaFileError` names the file, and the checks report it as `config_error`.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

from ops_evidence.errors import ConfigError


class CaFileError(ConfigError, OSError):
    """A `ca_file` is missing, unreadable or holds no certificate. Also an `OSError`, so a
    check that turns connection errors into data turns this one into data too."""


def ssl_context(verify: bool = True, ca_file: Path | None = None) -> ssl.SSLContext:
    """A client TLS context verifying against the system store (or `ca_file`), shared."""
    # One cache key per need, however the caller spelled the arguments.
    return _cached(verify, ca_file)


@lru_cache(maxsize=32)
def _cached(verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        if ca_file is None:
            raise  # the system store: not the inventory's to fix
        raise CaFileError(f"ca_file {ca_file}: {_why(exc)}") from exc


def _why(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return "no PEM certificate in it"
    return (exc.strerror or str(exc)).lower()
