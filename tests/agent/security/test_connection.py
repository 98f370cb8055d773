"""The connection plan: profile-driven URL, credentials and TLS; TLS failures as events."""

import asyncio
import base64
import contextlib
import socket
import ssl
import threading
import warnings
from types import SimpleNamespace

import pytest
import websockets
from websockets.asyncio.server import serve

from bench.security.ca import cpo_ca
from bench.security.pki import client_cert_server_context, ensure_pki, server_ssl_context
from charger.agent.config_keys import KeyTable
from charger.agent.configuration import Configuration
from charger.agent.features.security.certificates import CS_ROOT, CertificateStore
from charger.agent.features.security.connection import ConnectionPlanner
from charger.agent.features.security.csr import make_csr
from charger.agent.features.security.events import SecurityLog
from charger.agent.features.security.tables import create_tables
from charger.agent.store import AgentStore

NOW = "2026-12-01T17:00:00Z"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def planner(tmp_path, pki):
    store = AgentStore(tmp_path / "agent.sqlite")
    create_tables(store.db)
    config = Configuration(store, KeyTable(2), {"AuthorizationKey": "0123456789abcdef0123"})
    certs = CertificateStore(store.db, tmp_path / "keys")
    sent: list[dict] = []
    settings = SimpleNamespace(
        charge_point_id="CP 1",
        csms_url="wss://127.0.0.1:9/ocpp",
        csms_urls={"1": "ws://127.0.0.1:8/ocpp"},
    )
    log = SecurityLog(store.db, sent.append)
    p = ConnectionPlanner(settings, config, certs, log, lambda: NOW, lambda: 0.0)
    p.sent = sent
    yield p
    store.close()


def test_profile_decides_scheme_url_and_credentials(planner, pki):
    planner.config.set_internal("SecurityProfile", "1")
    url, context, headers = planner.plan()
    assert url == "ws://127.0.0.1:8/ocpp/CP%201" and context is None
    assert base64.b64decode(headers["Authorization"][6:]) == b"CP 1:0123456789abcdef0123"
    planner.config.set_internal("SecurityProfile", "2")
    _, context, _ = planner.plan()  # no root installed: it trusts no server
    assert context.cert_store_stats()["x509_ca"] == 0
    planner.certificates.install_root(CS_ROOT, pki.ca_cert.read_text(), 5, NOW)
    url, context, headers = planner.plan()
    assert (
        url == "wss://127.0.0.1:9/ocpp/CP%201" and context.minimum_version >= ssl.TLSVersion.TLSv1_2
    )
    assert "Authorization" in headers


async def _attempt(planner, port):
    url, context, headers = planner.plan()
    url = url.replace(":9/", f":{port}/")
    try:
        async with websockets.connect(
            url, ssl=context, additional_headers=headers, subprotocols=["ocpp1.6"], open_timeout=5
        ) as ws:
            planner.connected(True)
            return ws.request.headers
    except Exception as exc:  # noqa: BLE001
        planner.connected(False, exc)
        return exc


async def _serving(context, handler=None):
    async def answer(ws):
        await ws.close()

    return await serve(handler or answer, "127.0.0.1", 0, ssl=context, subprotocols=["ocpp1.6"])


def test_a_server_from_another_ca_is_refused_and_recorded(planner, pki, tmp_path):
    planner.certificates.install_root(CS_ROOT, pki.ca_cert.read_text(), 5, NOW)
    stranger = ensure_pki(tmp_path / "stranger")

    async def run():
        async with await _serving(
            server_ssl_context(stranger.server_cert, stranger.server_key)
        ) as s:
            port = s.sockets[0].getsockname()[1]
            await _attempt(planner, port)
            await _attempt(planner, port)  # recorded once per run of failures

    asyncio.run(run())
    assert [e["type"] for e in planner.sent] == ["InvalidCentralSystemCertificate"]


def _handshake_once(context):
    """A blocking TLS server for one handshake: OpenSSL sends its alert when it fails."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run():
        conn, _ = listener.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(conn, server_side=True)
        conn.close()
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1]


@pytest.mark.parametrize(
    ("narrow", "event"),
    [
        (
            {"maximum_version": ssl.TLSVersion.TLSv1_2, "ciphers": "AES128-SHA"},
            "InvalidTLSCipherSuite",
        ),
        (
            {
                "ciphers": "DEFAULT:@SECLEVEL=0",
                "minimum_version": ssl.TLSVersion.TLSv1,
                "maximum_version": ssl.TLSVersion.TLSv1_1,
            },
            "InvalidTLSVersion",
        ),
    ],
)
def test_old_tls_versions_and_foreign_ciphers_are_refused(planner, pki, narrow, event):
    planner.certificates.install_root(CS_ROOT, pki.ca_cert.read_text(), 5, NOW)
    context = server_ssl_context(pki.server_cert, pki.server_key)
    context.set_ciphers(narrow.pop("ciphers"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/1.1: exactly the point
        for name, value in narrow.items():
            setattr(context, name, value)
    port = _handshake_once(context)
    result = asyncio.run(_attempt(planner, port))
    assert isinstance(result, ssl.SSLError)
    assert [e["type"] for e in planner.sent] == [event]


def test_profile_3_presents_the_charge_point_certificate(planner, pki):
    planner.certificates.install_root(CS_ROOT, pki.ca_cert.read_text(), 5, NOW)
    ca = cpo_ca(pki.ca_cert.parent)
    request = make_csr("CP 1", None)
    planner.certificates.save_pending_key(request.key_pem)
    chain = planner.certificates.check_signed_chain(ca.sign_csr(request.csr_pem, "CP 1"), 10_000)
    planner.certificates.install_charge_point_certificate(chain, NOW)
    status, _ = planner.machine().request(3, True, True)
    assert status == "Accepted"
    machine = planner.machine()
    machine.request(3, True, True)
    planner.save(machine)
    seen = []

    async def handler(ws):
        seen.append(ws.transport.get_extra_info("peercert")["subject"])
        await ws.close()

    async def run():
        context = client_cert_server_context(pki.server_cert, pki.server_key, pki.ca_cert)
        async with await _serving(context, handler) as s:
            headers = await _attempt(planner, s.sockets[0].getsockname()[1])
            assert "Authorization" not in headers  # profile 3: the certificate, no password

    asyncio.run(run())
    assert seen and (("commonName", "CP 1"),) in seen[0]
    assert planner.config.get("SecurityProfile") == "3"
