"""Certificate chains the trustme CA can't make: an intermediate that expires before its leaf.

Built with `cryptography` (trustme fixes an intermediate's lifetime), written as PEM files for
nginx: the chain file holds leaf then intermediate; the root goes to its own CA file.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Chain:
    """A root CA file and a leaf+intermediate chain with its key."""

    ca_file: Path
    chain: Path
    key: Path


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    lifetime: timedelta,
    *,
    ca: bool,
) -> x509.Certificate:
    issuer_name, signing_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    else:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(signing_key, hashes.SHA256())


def short_intermediate_chain(folder: Path, intermediate_days: int, leaf_days: int) -> Chain:
    """Root (10 years) -> intermediate (`intermediate_days`) -> leaf (`leaf_days`)."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    root = _certificate("Test Root", keys[0], None, timedelta(days=3650), ca=True)
    middle = _certificate(
        "Test Intermediate",
        keys[1],
        ("Test Root", keys[0]),
        timedelta(days=intermediate_days),
        ca=True,
    )
    leaf = _certificate(
        "localhost", keys[2], ("Test Intermediate", keys[1]), timedelta(days=leaf_days), ca=False
    )
    pem = serialization.Encoding.PEM
    chain = Chain(folder / "short-root.pem", folder / "short-chain.pem", folder / "short.key")
    chain.ca_file.write_bytes(root.public_bytes(pem))
    chain.chain.write_bytes(leaf.public_bytes(pem) + middle.public_bytes(pem))
    chain.key.write_bytes(
        keys[2].private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain
