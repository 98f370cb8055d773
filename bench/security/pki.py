"""Local PKI and TLS contexts: the CPO CA, the CSMS's and the panel's server certificates,
the server contexts of security profiles 2 (TLS + Basic Auth) and 3 (client certificates).

The bench runs its own CA so a charger can be given one root certificate
(``ca.pem``) to verify the Central System against. Files are created once and
reused, so a charger that was provisioned with the root keeps working across runs.

Certificate validity uses the wall clock, not :class:`charger.clock.Clock`: TLS peers
check certificates against their real clocks, whatever speed the simulation runs at.

Cipher suites and the client context are the firmware's (``charger/protocol/tls.py``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from charger.protocol.tls import SERVER_CIPHERS, require_ciphers

DEFAULT_HOSTS = ("127.0.0.1", "localhost")

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest lifetime common TLS clients accept for a leaf


@dataclass(frozen=True)
class PkiFiles:
    """Paths of the PEM files in a PKI directory."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def pki_files(directory: str | os.PathLike[str]) -> PkiFiles:
    d = Path(directory)
    return PkiFiles(d / "ca.pem", d / "ca.key", d / "server.pem", d / "server.key")


def ensure_pki(directory: str | os.PathLike[str], hosts: Iterable[str] = DEFAULT_HOSTS) -> PkiFiles:
    """Create the CA and server certificate in ``directory`` unless already there.

    An existing CA is always reused. The server certificate is reissued only when it
    is missing, not issued by this CA, expired, or lacks one of ``hosts``.
    """
    files = pki_files(directory)
    _ensure_server(files, tuple(hosts))
    return files


def ensure_server_cert(
    directory: str | os.PathLike[str], name: str, hosts: Iterable[str]
) -> tuple[Path, Path]:
    """``<name>.pem`` and ``<name>.key``: another server certificate from the CA in
    ``directory`` (the panel's, for its own host names), made or renewed as needed."""
    d = Path(directory)
    files = PkiFiles(d / "ca.pem", d / "ca.key", d / f"{name}.pem", d / f"{name}.key")
    _ensure_server(files, tuple(hosts))
    return files.server_cert, files.server_key


def _ensure_server(files: PkiFiles, hosts: tuple[str, ...]) -> None:
    files.ca_cert.parent.mkdir(parents=True, exist_ok=True)
    if files.ca_cert.exists() and files.ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
    else:
        ca_key = _new_key()
        ca_cert = _issue_ca(ca_key)
        _write(files.ca_key, _key_pem(ca_key), private=True)
        _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))

    if not _server_cert_usable(files, ca_cert, hosts):
        key = _new_key()
        cert = _issue_server(key, ca_cert, ca_key, hosts)  # type: ignore[arg-type]
        _write(files.server_key, _key_pem(key), private=True)
        _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))


def panel_ssl_context(directory: str | os.PathLike[str], host: str) -> ssl.SSLContext:
    """TLS for the web panel listening on ``host``, with a certificate from the bench's CA
    naming ``host`` (for 0.0.0.0 / ::, this machine's name), 127.0.0.1 and localhost."""
    names = [*DEFAULT_HOSTS]
    if host in ("0.0.0.0", "::", ""):
        names.append(socket.gethostname())
    elif host not in names:
        names.append(host)
    cert, key = ensure_server_cert(directory, "panel", names)
    return server_ssl_context(cert, key)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (no TLS needed for the panel there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_ssl_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """TLS 1.2+ server context offering :data:`SERVER_CIPHERS` (TLS 1.3 suites as usual)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_ciphers(":".join(SERVER_CIPHERS))
    require_ciphers(ctx, SERVER_CIPHERS)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_cert_server_context(
    cert: str | os.PathLike[str], key: str | os.PathLike[str], ca_file: str | os.PathLike[str]
) -> ssl.SSLContext:
    """Security profile 3: :func:`server_ssl_context` that requires a client certificate
    issued by the CPO CA in ``ca_file``."""
    ctx = server_ssl_context(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=os.fspath(ca_file))
    return ctx


def _server_cert_usable(files: PkiFiles, ca_cert: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    if not (files.server_cert.exists() and files.server_key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):  # another CA, or a bad signature
        return False
    if cert.not_valid_after_utc <= _now() + dt.timedelta(days=1):
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    present = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    present |= set(san.get_values_for_type(x509.DNSName))
    return all(str(_general_name(h).value) in present for h in hosts)


def _issue_ca(key: rsa.RSAPrivateKey, common_name: str = "OCPP bench local CA") -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OCPP bench"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_server(
    key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    hosts: tuple[str, ...],
) -> x509.Certificate:
    # key_encipherment is what the static-RSA (TLS_RSA_*) suites use the key for.
    return issue_leaf(
        ca_cert,
        ca_key,
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]),
        key.public_key(),
        SERVER_DAYS,
        ExtendedKeyUsageOID.SERVER_AUTH,
        key_encipherment=True,
        hosts=hosts,
    )


def issue_leaf(
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    days: int,
    usage: x509.ObjectIdentifier,
    *,
    key_encipherment: bool = False,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    """An end-entity certificate from ``ca_cert``: one extended key usage, no longer valid
    than its CA, host names and addresses in the SAN when given, signed SHA-256 (PKCS#1
    v1.5 for RSA keys: never PSS, which the OCTT rejects)."""
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_encipherment and isinstance(public_key, rsa.RSAPublicKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write via a temporary file and rename, so a reader never sees half a PEM."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
