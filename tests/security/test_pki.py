"""Local PKI files and what TLS they give on 127.0.0.1."""

import asyncio
import socket
import ssl
import stat
import warnings

import pytest
from cryptography import x509

from bench.security.pki import ensure_pki, server_ssl_context
from charger.protocol.tls import SEED_CHARGER_CIPHERS, client_ssl_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_pki(tmp_path_factory.mktemp("pki"))


def test_ensure_pki_reuses_existing_files(tmp_path):
    first = ensure_pki(tmp_path)
    contents = {p: p.read_bytes() for p in vars(first).values()}
    second = ensure_pki(tmp_path)
    assert second == first
    assert {p: p.read_bytes() for p in vars(second).values()} == contents
    assert stat.S_IMODE(first.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.server_key.stat().st_mode) == 0o600


def test_server_certificate_names_and_issuer(pki):
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ca.public_key().key_size == 2048
    assert cert.signature_hash_algorithm.name == "sha256"


def test_new_host_reissues_server_certificate_with_same_ca(tmp_path):
    first = ensure_pki(tmp_path)
    ca_before = first.ca_cert.read_bytes()
    server_before = first.server_cert.read_bytes()
    ensure_pki(tmp_path, hosts=("127.0.0.1", "localhost", "192.168.7.2"))
    assert first.ca_cert.read_bytes() == ca_before
    assert first.server_cert.read_bytes() != server_before


async def _handshake(pki, client_ctx):
    """Run a TLS server with the bench's context; return (version, cipher) seen by the client."""

    async def serve(reader, writer):
        writer.close()

    server = await asyncio.start_server(
        serve, "127.0.0.1", 0, ssl=server_ssl_context(pki.server_cert, pki.server_key)
    )
    port = server.sockets[0].getsockname()[1]
    try:
        return await asyncio.to_thread(_blocking_handshake, port, client_ctx)
    finally:
        server.close()
        await server.wait_closed()


def _blocking_handshake(port, client_ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with client_ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            return tls.version(), tls.cipher()[0]


def test_default_client_negotiates(pki):
    version, _ = asyncio.run(_handshake(pki, client_ssl_context(pki.ca_cert)))
    assert version in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("cipher", SEED_CHARGER_CIPHERS)
def test_seed_charger_suites_negotiate_on_tls12(pki, cipher):
    ctx = client_ssl_context(pki.ca_cert, ciphers=[cipher], maximum_version=ssl.TLSVersion.TLSv1_2)
    assert asyncio.run(_handshake(pki, ctx)) == ("TLSv1.2", cipher)


def test_tls12_client_prefers_forward_secrecy(pki):
    ctx = client_ssl_context(pki.ca_cert, maximum_version=ssl.TLSVersion.TLSv1_2)
    assert asyncio.run(_handshake(pki, ctx))[1].startswith("ECDHE-RSA-")


def test_tls11_client_is_refused_by_the_server(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca_cert)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so the client really sends a TLS 1.1 hello
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError) as refused:
        asyncio.run(_handshake(pki, ctx))
    assert refused.value.reason not in ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE")


def test_client_rejects_a_server_from_another_ca(pki, tmp_path):
    other = ensure_pki(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_handshake(pki, client_ssl_context(other.ca_cert)))
