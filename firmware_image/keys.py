"""The firmware-signing key and its X.509 certificate from the bench's manufacturer CA.

::

    KEY_DIR/firmware-signing.key   private key (RSA 2048), PKCS#8 PEM, mode 0600
    KEY_DIR/firmware-signing.pem   its certificate, issued by the manufacturer CA
    MANUFACTURER_DIR/ca.pem        the manufacturer CA (``bench.security.ca``): what an agent
                                   trusts, installed as its ManufacturerRootCertificate

The bench keeps its key under ``STATE/pki/firmware/`` and its manufacturer CA under
``STATE/pki/manufacturer/`` (default: the key directory's sibling ``manufacturer``), and
provisions the agent with the CA's certificate (AgentSettings.manufacturer_root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bench.security.ca import PrivateKey, manufacturer_ca, sign_data
from charger.agent.features.security.certificates import CertificateError, verify_chain
from charger.agent.fwimage import signer_name

PRIVATE = "firmware-signing.key"
CERTIFICATE = "firmware-signing.pem"


@dataclass(frozen=True)
class SigningKey:
    private: PrivateKey
    private_path: Path
    certificate_path: Path
    root_path: Path  # the manufacturer CA's certificate

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_path.read_bytes())

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate_path.read_bytes()

    @property
    def fingerprint(self) -> str:
        return signer_name(self.certificate)

    def sign(self, data: bytes) -> bytes:
        """base64 of the SHA-256 signature (RSA PKCS#1 v1.5), as SignedUpdateFirmware's."""
        return sign_data(self.private, data).encode()


def ensure_signing_key(
    key_dir: str | os.PathLike[str], manufacturer_dir: str | os.PathLike[str] | None = None
) -> SigningKey:
    """Load the signing key and certificate in ``key_dir``; made on first use, and made
    again when the certificate no longer chains to the manufacturer CA."""
    key_dir = Path(key_dir)
    ca = manufacturer_ca(manufacturer_dir or key_dir.parent / "manufacturer")
    ca_path = Path(manufacturer_dir or key_dir.parent / "manufacturer") / "ca.pem"
    private_path, cert_path = key_dir / PRIVATE, key_dir / CERTIFICATE
    if private_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        try:
            verify_chain([cert], [ca.cert])
            return SigningKey(key, private_path, cert_path, ca_path)  # type: ignore[arg-type]
        except CertificateError:
            pass  # another CA, or expired: issue a new one
    key_dir.mkdir(parents=True, exist_ok=True)
    key, cert_pem = ca.issue_signing_certificate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = private_path.with_name(f".{PRIVATE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.replace(tmp, private_path)
    cert_path.write_text(cert_pem)
    return SigningKey(key, private_path, cert_path, ca_path)
