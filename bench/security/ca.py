"""Certificate authorities of the bench: the CPO CA and the manufacturer CA.

* The **CPO CA** is the bench's local CA of :mod:`bench.security.pki` (``STATE/pki/ca.pem``):
  it issues the Central System's TLS server certificate and, through SignCertificate,
  every ChargePointCertificate; a charge point installs it as its
  CentralSystemRootCertificate and verifies both chains up to it, and the CSMS verifies
  profile-3 client certificates against it.
* The **manufacturer CA** (``STATE/pki/manufacturer/``) issues firmware-signing
  certificates for SignedUpdateFirmware; a charge point installs it as its
  ManufacturerRootCertificate.

Signatures are SHA256withRSA (PKCS#1 v1.5) or ECDSA with SHA-256, never RSASSA-PSS: the
OCTT rejects PSS (shared security facts). Certificate validity uses the wall clock.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bench.security.pki import _issue_ca, _key_pem, _new_key, _write, ensure_pki, issue_leaf
from charger.agent.features.security.certificates import hash_data
from charger.agent.fwimage import verify_signature

CHARGE_POINT_DAYS = 365
SIGNING_DAYS = 365
#: Smallest keys accepted in a CSR (whitepaper: RSA/DSA 2048 bits, EC 224 bits).
MIN_RSA_BITS = 2048
MIN_EC_BITS = 224

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CsrError(ValueError):
    """A certificate signing request the CA will not sign; the message says why."""


@dataclass
class CertificateAuthority:
    """A CA whose certificate and key live in two PEM files."""

    cert: x509.Certificate
    key: PrivateKey

    @classmethod
    def load(cls, cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]):
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return cls(cert, key)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    # -- charge point certificates (SignCertificate) ---------------------------------------

    def sign_csr(self, csr_pem: str, cp_id: str, days: int = CHARGE_POINT_DAYS) -> str:
        """The ChargePointCertificate for ``csr_pem``, PEM, followed by this CA's certificate.

        The subject's CN is ``cp_id`` (the authenticated charge point, whatever the CSR
        asks); O is copied from the CSR when present and never required: the OCTT's
        charge point leaves CpoName out (shared facts).
        """
        csr = check_csr(csr_pem)
        names = [x509.NameAttribute(NameOID.COMMON_NAME, cp_id)]
        org = csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if org:
            names.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(org[0].value)))
        cert = self._leaf(
            x509.Name(names),
            csr.public_key(),  # type: ignore[arg-type]
            days,
            ExtendedKeyUsageOID.CLIENT_AUTH,
            key_encipherment=True,
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode() + self.pem

    # -- firmware signing (SignedUpdateFirmware) ---------------------------------------------

    def issue_signing_certificate(
        self, common_name: str = "OCPP bench firmware signing"
    ) -> tuple[PrivateKey, str]:
        """A fresh key and its firmware-signing certificate (PEM) from this CA."""
        key = _new_key()
        cert = self._leaf(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            key.public_key(),
            SIGNING_DAYS,
            ExtendedKeyUsageOID.CODE_SIGNING,
        )
        return key, cert.public_bytes(serialization.Encoding.PEM).decode()

    def _leaf(
        self,
        subject: x509.Name,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
        days: int,
        usage: x509.ObjectIdentifier,
        *,
        key_encipherment: bool = False,
    ) -> x509.Certificate:
        """A certificate this CA signs (the one place its signing can be swapped in tests)."""
        return issue_leaf(
            self.cert, self.key, subject, public_key, days, usage, key_encipherment=key_encipherment
        )


def cpo_ca(pki_dir: str | os.PathLike[str]) -> CertificateAuthority:
    """The bench's CPO CA (the local CA of :func:`bench.security.pki.ensure_pki`)."""
    files = ensure_pki(pki_dir)
    return CertificateAuthority.load(files.ca_cert, files.ca_key)


def manufacturer_ca(directory: str | os.PathLike[str]) -> CertificateAuthority:
    """The bench's manufacturer CA in ``directory`` (``ca.pem``, ``ca.key``), made once."""
    d = Path(directory)
    cert_file, key_file = d / "ca.pem", d / "ca.key"
    if not (cert_file.exists() and key_file.exists()):
        d.mkdir(parents=True, exist_ok=True)
        key = _new_key()
        cert = _issue_ca(key, "OCPP bench manufacturer CA")
        _write(key_file, _key_pem(key), private=True)
        _write(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority.load(cert_file, key_file)


def check_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    """The parsed CSR if it is signed by its own key and the key is strong enough."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode() if isinstance(csr_pem, str) else csr_pem)
    except (ValueError, TypeError) as exc:
        raise CsrError(f"not a PEM certificate signing request: {exc}") from None
    if not csr.is_signature_valid:
        raise CsrError("the CSR's signature does not match its public key")
    if isinstance(csr.signature_algorithm_parameters, padding.PSS):
        raise CsrError("the CSR is signed with RSASSA-PSS; use SHA256withRSA or ECDSA")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrError(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} needed")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            raise CsrError(f"EC key of {key.curve.key_size} bits; at least {MIN_EC_BITS} needed")
    else:
        raise CsrError(f"unsupported key type {type(key).__name__}")
    return csr


def sign_data(key: PrivateKey, data: bytes) -> str:
    """base64 of the SHA-256 signature of ``data`` (RSA PKCS#1 v1.5 or ECDSA)."""
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode()


def verify_data(cert_pem: str, data: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is the certificate key's SHA-256 signature of ``data``
    (the firmware's own check, so the bench and the charger agree)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        return False
    return verify_signature(cert, data, signature_b64)


def load_chain(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, in order; ValueError if there is none."""
    certs = x509.load_pem_x509_certificates(pem.encode())
    if not certs:
        raise ValueError("no certificate in the PEM text")
    return certs


def certificate_hash_data(cert_pem: str, algorithm: str = "SHA256") -> dict[str, str]:
    """The CertificateHashDataType of the first certificate of a PEM bundle, its issuer
    being the next one (a self-signed root is its own): the firmware's implementation
    (OCSP's CertID through ``cryptography``), so both ends compute the same."""
    chain = load_chain(cert_pem)
    return hash_data(chain[0], chain[1] if len(chain) > 1 else None, algorithm)
