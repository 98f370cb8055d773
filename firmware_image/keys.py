"""The firmware signing key: Ed25519, generated into a key directory on first use.

::

    KEY_DIR/firmware-signing.key   private key, PKCS#8 PEM, mode 0600
    KEY_DIR/firmware-signing.pub   public key, SubjectPublicKeyInfo PEM: what an agent trusts

The bench keeps its key under ``STATE/pki/firmware/`` next to its TLS CA, and provisions
the agent with the ``.pub`` (AgentSettings.firmware_public_key).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charger.agent.fwimage import key_fingerprint

PRIVATE = "firmware-signing.key"
PUBLIC = "firmware-signing.pub"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    private_path: Path
    public_path: Path

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.private.public_key())

    @property
    def public_pem(self) -> bytes:
        return self.public_path.read_bytes()

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def ensure_signing_key(key_dir: str | os.PathLike[str]) -> SigningKey:
    """Load the key pair in ``key_dir``, generating it on first use."""
    key_dir = Path(key_dir)
    private_path, public_path = key_dir / PRIVATE, key_dir / PUBLIC
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{private_path} is not an Ed25519 private key")
    else:
        key_dir.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public_path.exists() or public_path.read_bytes() != public:
        public_path.write_bytes(public)
    return SigningKey(key, private_path, public_path)
