"""A tiny Docker token issuer for the real docker-registry's `auth: token` mode.

It serves `GET /token?service=…&scope=repository:NAME:ACTIONS` over TLS on 127.0.0.1, checks
the Basic credentials against its users, and grants each user only the actions it allows
(so a pull-only user asking for `pull,push` gets `pull`, as real issuers do). The JWT is
RS256, hand-signed with `cryptography`, with its certificate in the `x5c` header: the
registry trusts it through `rootcertbundle`, a PEM of that same self-signed certificate.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

ISSUER = "ops-evidence-test-issuer"
SERVICE = "ops-evidence-test-registry"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """The issuer's RSA key and its self-signed certificate (the registry's trust root)."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit key with a one-day certificate."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ops-evidence test token")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def write_bundle(self, path: Path) -> Path:
        """The certificate as PEM, for the registry's `rootcertbundle`."""
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def sign(self, claims: Mapping[str, object]) -> str:
        """A compact RS256 JWS of `claims` with the certificate in `x5c`."""
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"


@dataclass
class TokenIssuer:
    """Users (name -> password, allowed actions) and the tokens handed out, for assertions."""

    key: SigningKey
    users: dict[str, tuple[str, frozenset[str]]]
    issued: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def realm(self) -> str:
        """The realm URL the registry's challenge names."""
        return f"https://127.0.0.1:{self.port}/token"

    def grant(self, authorization: str | None, scope: str) -> tuple[int, dict[str, object]]:
        """Status and JSON body for one token request."""
        user = self._user(authorization)
        if user is None:
            return 401, {"errors": [{"code": "UNAUTHORIZED"}]}
        allowed = self.users[user][1]
        access = []
        for item in scope.split():
            kind, name, actions = item.split(":", 2)
            granted = [a for a in actions.split(",") if a in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = self.key.sign(claims)
        self.issued.append(token)
        return 200, {"token": token, "expires_in": 300}

    def _user(self, authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Basic "):
            return None
        name, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        known = self.users.get(name)
        return name if known is not None and secrets.compare_digest(known[0], password) else None


def _handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            status, body = issuer.grant(
                self.headers.get("Authorization"), " ".join(query.get("scope", []))
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            """Quiet: the request line is no evidence, and tests capture logs."""

    return Handler


@contextmanager
def token_issuer(
    chain: tuple[Path, Path], users: dict[str, tuple[str, frozenset[str]]]
) -> Iterator[TokenIssuer]:
    """Serve tokens over TLS (the server certificate `chain`) until the block ends."""
    issuer = TokenIssuer(SigningKey.generate(), users)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(chain[0]), str(chain[1]))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    issuer.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
