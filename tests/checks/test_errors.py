"""Failure messages say what went wrong in plain words: a bad `ca_file` is the inventory's
mistake (naming the file), and library internals (h11 states, errno, `_ssl.c`) never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_evidence.checks.http import fetch
from ops_evidence.checks.subprocess import run_tool
from ops_evidence.checks.tls import TlsTarget, check_tls
from ops_evidence.inventory.checks import HttpOptions
from tests import real_servers as servers
from tests.raw_http import raw_server

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

INTERNALS = ("Errno", "Error:", "state=", "role=", "bytearray", "_ssl.c", "[SSL")


def plain(message: str) -> bool:
    """No exception type, errno, h11 state or OpenSSL source line in the message."""
    return not any(word in message for word in INTERNALS)


async def test_a_missing_ca_file_is_a_config_error_naming_it(
    nginx: servers.Nginx, tmp_path: Path
) -> None:
    """The http and tls checks both say `config_error` and which file, not `connect_failed`."""
    missing = tmp_path / "nowhere" / "ca.pem"
    opts = HttpOptions.model_validate(
        {"url": f"https://127.0.0.1:{nginx.valid}/health", "ca_file": str(missing)}
    )
    http = (await fetch(opts, timeout=5)).failure
    tls = (await check_tls(TlsTarget("127.0.0.1", nginx.valid, None, missing, 5))).failure
    for failure in (http, tls):
        assert failure is not None
        assert failure.reason == "config_error"
        assert f"ca_file {missing}: no such file or directory" in failure.message
        assert plain(failure.message)


async def test_a_ca_file_without_a_certificate_is_a_config_error(
    nginx: servers.Nginx, tmp_path: Path
) -> None:
    """A file that holds no PEM certificate (a key, a typo'd copy) is named as well."""
    wrong = tmp_path / "ca.pem"
    wrong.write_text("not a certificate\n", encoding="utf-8")
    result = await check_tls(TlsTarget("127.0.0.1", nginx.valid, None, wrong, 5))
    assert result.failure is not None
    assert result.failure.reason == "config_error"
    assert f"ca_file {wrong}: no PEM certificate in it" in result.failure.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"", "the server closed the connection without answering"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "the connection closed before a complete answer"),
        (b"garbage\r\n\r\n", "the answer is not HTTP; its first line: garbage"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "before the whole body arrived"),
    ],
)
async def test_h11_complaints_are_plain_words(answer: bytes, words: str) -> None:
    """A server that hangs up, speaks SSH, or cuts the body short is described, not quoted."""
    with raw_server(answer, close_after=True) as server:
        result = await fetch(HttpOptions.model_validate({"url": server.url + "/"}), timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "protocol_error"
    assert words in result.failure.message
    assert plain(result.failure.message)


async def test_refused_and_unverified_are_plain_words(nginx: servers.Nginx) -> None:
    """errno and OpenSSL's bracketed codes give way to their text."""
    refused = await check_tls(TlsTarget("127.0.0.1", servers.free_port(), None, None, 5))
    self_signed = await check_tls(TlsTarget("127.0.0.1", nginx.self_signed, "localhost", None, 5))
    assert refused.failure is not None
    assert "connection refused" in refused.failure.message.lower()
    assert self_signed.failure is not None
    assert "certificate verify failed: self-signed certificate" in self_signed.failure.message
    for failure in (refused.failure, self_signed.failure):
        assert plain(failure.message), failure.message


async def test_a_tool_that_cannot_start_is_described(tmp_path: Path) -> None:
    """A tool whose interpreter is missing: `tool_failed`, the file named, no errno."""
    tool = tmp_path / "restic"
    tool.write_text("#!/nonexistent/interpreter\n", encoding="utf-8")
    tool.chmod(0o755)
    result = await run_tool([str(tool)], timeout=5)
    assert result.failure is not None
    assert result.failure.reason == "tool_failed"
    assert f"no such file or directory: {tool}" in result.failure.message
    assert plain(result.failure.message)
