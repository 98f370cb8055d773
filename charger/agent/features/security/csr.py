"""A key pair and a certificate signing request for the ChargePointCertificate.

Whitepaper ed. 3, use cases A02/A03 (Update Charge Point certificate): the charge point makes a
new key pair, keeps the private key to itself and sends a PKCS#10 CSR in
SignCertificate. The subject's CN is the charge point id (what the Central System
checks on a profile-3 connection) and O is CpoName when set. RSA 2048 with
SHA256withRSA (PKCS#1 v1.5): the seed charger's TLS_RSA suites, and the lab tool
rejects RSASSA-PSS (shared security facts).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

KEY_BITS = 2048


@dataclass(frozen=True)
class SigningRequest:
    key_pem: bytes  # PKCS#8, unencrypted: written only to a 0600 file
    csr_pem: str


def make_csr(charge_point_id: str, cpo_name: str | None) -> SigningRequest:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    names = []
    if cpo_name:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, cpo_name))
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, charge_point_id))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(names))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningRequest(key_pem, csr.public_bytes(serialization.Encoding.PEM).decode())
