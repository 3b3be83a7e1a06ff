"""Secrets referenced by the inventory: by file path or environment variable, never inline."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ops_evidence.redact import register_secret

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SecretUnavailableError(Exception):
    """The referenced file or variable is missing or empty; the message names which."""


class SecretRef(BaseModel):
    """Where to read a secret: `{file: PATH}` or `{env: VARIABLE}`, exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = Field(default=None, description="File whose content is the secret.")
    env: str | None = Field(default=None, pattern=_ENV_NAME, description="Environment variable.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.file is None) == (self.env is None):
            raise ValueError("give exactly one of `file` or `env`")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        return f"file {self.file}" if self.file else f"environment variable {self.env}"

    def read(self) -> str:
        """Read the secret (trailing newline stripped) and register it for redaction."""
        if self.file is not None:
            try:
                value = self.file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SecretUnavailableError(
                    f"cannot read {self.describe()}: {exc.strerror}"
                ) from None
        else:
            value = os.environ.get(str(self.env), "")
        if not value:
            raise SecretUnavailableError(f"{self.describe()} is empty or unset")
        register_secret(value)
        return value


def _no_inline(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        raise ValueError(
            "inline secrets are not allowed; give {file: /path/to/secret} or {env: VARIABLE}"
        )
    return value


Secret = Annotated[SecretRef, BeforeValidator(_no_inline)]
"""A SecretRef field that rejects an inline string with a clear message."""

_URL_USERINFO = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s]*@")


def reject_url_credentials(value: str) -> str:
    """URLs in the inventory must not carry `user:password@`."""
    if _URL_USERINFO.match(value):
        raise ValueError("credentials in a URL are not allowed; use an auth setting with a file")
    return value
