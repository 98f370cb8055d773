"""The charger's certificate store: root certificates, its own certificate and key.

Roots (CentralSystemRootCertificate, ManufacturerRootCertificate) and the
ChargePointCertificate chain live in the ``certificates`` table of ``agent.sqlite``
(mode 0600); the charge point's private keys live in ``STATE/agent/keys/`` (directory
0700, files 0600), never in a world-readable file (issue 11). Validity is checked
against the wall clock: TLS peers check certificates against real time, whatever
speed the bench's simulation runs at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

CS_ROOT = "CentralSystemRootCertificate"
MF_ROOT = "ManufacturerRootCertificate"
CP_CERT = "ChargePointCertificate"
ROOT_TYPES = (CS_ROOT, MF_ROOT)
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}

PENDING_KEY_FILE = "charge_point.pending.key"
CHAIN_FILE = "charge_point.pem"


def key_file_name(leaf: x509.Certificate) -> str:
    """The private key of ``leaf`` lives in a file named for it: the certificate row that is
    committed decides which key is in force, so a power cut mid-install leaves a matching
    pair (the old or the new), never a new key behind an old certificate."""
    return f"charge_point-{fingerprint(leaf)[:16]}.key"


class CertificateError(ValueError):
    """A certificate or chain this charger must not accept; the message says why."""


def load_pems(text: str | bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle, in order (CertificateError if none or unreadable)."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None
    if not certs:
        raise CertificateError("no certificate in the PEM text")
    return certs


def pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def hash_data(
    cert: x509.Certificate, issuer: x509.Certificate | None = None, algorithm: str = "SHA256"
) -> dict[str, str]:
    """CertificateHashDataType (whitepaper ed. 3, its data types): OCSP's CertID (RFC 6960
    4.1.1), computed by the OCSP request builder of ``cryptography``: issuerNameHash over
    the issuer's DER name, issuerKeyHash over the issuer's public key bits (a self-signed
    root is its own issuer), serialNumber as lower-case hex without leading zeroes."""
    request = (
        ocsp.OCSPRequestBuilder().add_certificate(cert, issuer or cert, HASHES[algorithm]()).build()
    )
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(request.serial_number, "x"),
    }


def same_hash_data(a: dict[str, str], b: dict[str, str]) -> bool:
    def norm(d: dict[str, str]) -> tuple[str, ...]:
        serial = str(d.get("serialNumber", "")).lower().lstrip("0") or "0"
        return (
            str(d.get("hashAlgorithm", "")).upper(),
            str(d.get("issuerNameHash", "")).lower(),
            str(d.get("issuerKeyHash", "")).lower(),
            serial,
        )

    return norm(a) == norm(b)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_validity(cert: x509.Certificate, now: dt.datetime) -> None:
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateError(
            f"{cert.subject.rfc4514_string()} is not valid now "
            f"({cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d})"
        )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def verify_chain(
    chain: list[x509.Certificate],
    roots: Iterable[x509.Certificate],
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """The root that ``chain`` (leaf first, then intermediates) leads to.

    Every link is checked: signed by the next certificate (or a root), issuers are
    CAs, every certificate is valid now. Raises CertificateError otherwise.
    """
    now = now or _now()
    roots = list(roots)
    if not chain:
        raise CertificateError("empty certificate chain")
    for cert in chain:
        _check_validity(cert, now)
    for child, parent in zip(chain, chain[1:], strict=False):
        if not _is_ca(parent):
            raise CertificateError(f"{parent.subject.rfc4514_string()} is not a CA")
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise CertificateError(
                f"{child.subject.rfc4514_string()} is not issued by "
                f"{parent.subject.rfc4514_string()}"
            ) from None
    top = chain[-1]
    for root in roots:
        if fingerprint(root) == fingerprint(top):
            return root
        try:
            top.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        _check_validity(root, now)
        return root
    raise CertificateError(
        f"{chain[0].subject.rfc4514_string()} does not chain to an installed root certificate"
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret atomically, mode 0600 from the first byte on."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Installed:
    type: str
    cert: x509.Certificate
    pem: str


class CertificateStore:
    """The certificates and keys of one charger (``db``: agent.sqlite, ``key_dir`` 0700)."""

    def __init__(self, db: sqlite3.Connection, key_dir: str | os.PathLike[str]) -> None:
        self.db = db
        self.key_dir = Path(key_dir)
        self.key_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.key_dir, 0o700)

    # --- reading -------------------------------------------------------------------

    def installed(self, kind: str | None = None) -> list[Installed]:
        sql = "SELECT type, pem FROM certificates"
        rows = (
            self.db.execute(sql + " WHERE type=? ORDER BY id", (kind,))
            if kind
            else self.db.execute(sql + " ORDER BY id")
        )
        return [Installed(t, load_pems(pem)[0], pem) for t, pem in rows]

    def roots(self, kind: str) -> list[x509.Certificate]:
        return [i.cert for i in self.installed(kind)]

    def roots_pem(self, kind: str) -> str:
        return "".join(pem_of(c) for c in self.roots(kind))

    def charge_point_chain(self) -> list[x509.Certificate] | None:
        row = self.db.execute(
            "SELECT pem FROM certificates WHERE type=? ORDER BY id DESC LIMIT 1", (CP_CERT,)
        ).fetchone()
        return load_pems(row[0]) if row else None

    def has_valid_charge_point_certificate(self) -> bool:
        """Profile 3's prerequisite: an installed, valid ChargePointCertificate and its key."""
        chain = self.charge_point_chain()
        if chain is None or not (self.key_dir / key_file_name(chain[0])).exists():
            return False
        try:
            verify_chain(chain, self.roots(CS_ROOT))
        except CertificateError:
            return False
        return True

    def needs_renewal(self, within: dt.timedelta, now: dt.datetime | None = None) -> bool:
        """Whether the ChargePointCertificate expires within ``within`` (use case A03: the
        charge point renews it on its own before it runs out)."""
        chain = self.charge_point_chain()
        if chain is None:
            return False
        return chain[0].not_valid_after_utc - (now or _now()) < within

    def client_cert_files(self) -> tuple[Path, Path] | None:
        """(chain file, key file) for ``SSLContext.load_cert_chain`` (profile 3), or None."""
        chain = self.charge_point_chain()
        key = self.key_dir / key_file_name(chain[0]) if chain else self.key_dir / "none"
        if chain is None or not key.exists():
            return None
        path = self.key_dir / CHAIN_FILE
        text = "".join(pem_of(c) for c in chain).encode()
        if not path.exists() or path.read_bytes() != text:
            _write_private(path, text)
        return path, key

    def hash_data_of(self, kind: str, algorithm: str = "SHA256") -> list[dict[str, str]]:
        """GetInstalledCertificateIds: the hash data of every certificate of ``kind``."""
        return [self._hash(i, algorithm) for i in self.installed(kind)]

    def _hash(self, item: Installed, algorithm: str) -> dict[str, str]:
        issuer = None
        if item.type == CP_CERT:
            chain = load_pems(item.pem)
            issuer = chain[1] if len(chain) > 1 else self._issuer_among_roots(chain[0])
        return hash_data(item.cert, issuer, algorithm)

    def _issuer_among_roots(self, cert: x509.Certificate) -> x509.Certificate | None:
        for root in self.roots(CS_ROOT):
            try:
                cert.verify_directly_issued_by(root)
                return root
            except (ValueError, TypeError, InvalidSignature):
                continue
        return None

    # --- changing --------------------------------------------------------------------

    def install_root(self, kind: str, pem: str, max_per_type: int, now_iso: str) -> str:
        """InstallCertificate: Accepted, Rejected (not a valid CA certificate, store full)
        or Failed (could not be stored)."""
        try:
            cert = load_pems(pem)[0]
            _check_validity(cert, _now())
        except CertificateError:
            return "Rejected"
        if not _is_ca(cert):
            return "Rejected"  # a root certificate must be a CA certificate
        existing = [fingerprint(c) for c in self.roots(kind)]
        if fingerprint(cert) in existing:
            return "Accepted"
        if len(existing) >= max_per_type:
            return "Rejected"  # CertificateStoreMaxLength
        try:
            self.db.execute(
                "INSERT INTO certificates(type, pem, fingerprint, installed_ts) VALUES (?,?,?,?)",
                (kind, pem_of(cert), fingerprint(cert), now_iso),
            )
        except sqlite3.Error:
            return "Failed"
        return "Accepted"

    def delete(self, wanted: dict[str, str]) -> str:
        """DeleteCertificate: Accepted, Failed (the last CentralSystemRootCertificate or
        ChargePointCertificate: seed AQ-1/AQ-3 "No") or NotFound."""
        algorithm = str(wanted.get("hashAlgorithm", "SHA256")).upper()
        if algorithm not in HASHES:
            return "NotFound"
        rows = self.db.execute("SELECT id, type, pem FROM certificates ORDER BY id").fetchall()
        for row_id, kind, pem in rows:
            item = Installed(kind, load_pems(pem)[0], pem)
            if not same_hash_data(self._hash(item, algorithm), wanted):
                continue
            if kind in (CS_ROOT, CP_CERT) and sum(1 for r in rows if r[1] == kind) <= 1:
                return "Failed"
            self.db.execute("DELETE FROM certificates WHERE id=?", (row_id,))
            return "Accepted"
        return "NotFound"

    # --- the charge point's own key and certificate ---------------------------------------

    def save_pending_key(self, pem: bytes) -> None:
        _write_private(self.key_dir / PENDING_KEY_FILE, pem)

    def pending_public_key(self) -> bytes | None:
        path = self.key_dir / PENDING_KEY_FILE
        if not path.exists():
            return None
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        return key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def check_signed_chain(self, chain_pem: str, max_bytes: int) -> list[x509.Certificate]:
        """CertificateSigned's chain, checked (whitepaper use case A02; lab case 077): within
        CertificateSignedMaxChainSize, leading to an installed CentralSystemRootCertificate,
        and for the key of our last CSR. Raises CertificateError."""
        if len(chain_pem.encode()) > max_bytes:
            raise CertificateError(
                f"certificateChain of {len(chain_pem.encode())} bytes, more than {max_bytes}"
            )
        chain = load_pems(chain_pem)
        roots = self.roots(CS_ROOT)
        chain = [c for c in chain if fingerprint(c) not in {fingerprint(r) for r in roots}]
        if not chain:
            raise CertificateError("the chain holds only root certificates")
        verify_chain(chain, roots)
        pending = self.pending_public_key()
        leaf_key = (
            chain[0]
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        if pending is None or pending != leaf_key:
            raise CertificateError("the certificate is not for the key of our last CSR")
        return chain

    def install_charge_point_certificate(self, chain: list[x509.Certificate], now_iso: str) -> None:
        """Make the pending key and this chain the ones the next connection presents."""
        key_name = key_file_name(chain[0])
        os.replace(self.key_dir / PENDING_KEY_FILE, self.key_dir / key_name)
        text = "".join(pem_of(c) for c in chain)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("DELETE FROM certificates WHERE type=?", (CP_CERT,))
            self.db.execute(
                "INSERT INTO certificates(type, pem, fingerprint, installed_ts) VALUES (?,?,?,?)",
                (CP_CERT, text, fingerprint(chain[0]), now_iso),
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        _write_private(self.key_dir / CHAIN_FILE, text.encode())
        for old in self.key_dir.glob("charge_point-*.key"):
            if old.name != key_name:
                old.unlink(missing_ok=True)
