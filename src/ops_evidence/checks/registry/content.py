"""What a publish pushes: a random layer blob, a config blob and a manifest naming them.

The layer is random on every run, so pulling it back proves this run's push reached storage,
not that an earlier copy is still cached somewhere.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
_LAYER_BYTES = 64


def digest_of(data: bytes) -> str:
    """The OCI digest of `data`: `sha256:` and the lowercase hex."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes to push, with their digest and media type."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        """The blob's content digest."""
        return digest_of(self.data)

    def descriptor(self) -> dict[str, object]:
        """The OCI descriptor a manifest refers to the blob by."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True, slots=True)
class Artifact:
    """One run's image: its unique tag, layer, config and manifest bytes."""

    tag: str
    layer: Blob
    config: Blob
    manifest: bytes

    @property
    def manifest_digest(self) -> str:
        """The digest the registry must report for the manifest."""
        return digest_of(self.manifest)


def unique_tag(now: datetime) -> str:
    """`ops-evidence-<utc time>-<random>`: never reused, sortable by time, a valid OCI tag."""
    return f"ops-evidence-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def make_artifact(now: datetime) -> Artifact:
    """A fresh random layer, a minimal config and an OCI image manifest for them."""
    layer = Blob(secrets.token_bytes(_LAYER_BYTES), LAYER_TYPE)
    # The layer is no real tar, so its digest stands in for the uncompressed one: registries
    # do not read configs, and nothing ever runs this image.
    rootfs = {"type": "layers", "diff_ids": [layer.digest]}
    config_doc = {"architecture": "amd64", "os": "linux", "rootfs": rootfs}
    config = Blob(json.dumps(config_doc, sort_keys=True).encode(), CONFIG_TYPE)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        "annotations": {"org.opencontainers.image.created": f"{now:%Y-%m-%dT%H:%M:%SZ}"},
    }
    return Artifact(unique_tag(now), layer, config, json.dumps(manifest, sort_keys=True).encode())
