"""The connection: raising the security profile, Basic auth, TLS with server and client
certificates, the WebSocket subprotocol."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.headers import build_authorization_basic

from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.csms_security.steps import (
    certificates,
    check_status,
    csr_flow,
    handshake_status,
    local_dut,
    reconnected,
    security_case,
)
from charger.protocol.tls import client_ssl_context

#: TLS suites of the whitepaper and the seed charger (OpenSSL names); TLS 1.3 suites pass.
TLS12_SUITES = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
}


@security_case(
    "TC_083_CSMS",
    "Upgrade Charge Point Security Profile - Accepted",
    requires=("security.profile1", "security.tls"),
)
async def tc_083_upgrade_profile(t: CsmsHandle) -> None:
    """A charge point on profile 1 (Basic auth, plain ws) with the CentralSystemRoot
    installed; ChangeConfiguration.req SecurityProfile 2; it accepts, reconnects over TLS
    and is let in; from then on profile 1 is refused for it (HTTP 401)."""
    security = t.cp.security
    t.check(1 in security.endpoints and 2 in security.endpoints, "no profile 1 and 2 URLs")
    await (await t.operator.set_security_profile(1)).outcome(10, t.clock)
    await t.cp.disconnect()
    security.apply_profile(1)
    t.cp.password = t.bench.password
    await t.connect()
    await t.boot()
    before = len(security.switches)
    request, _ = await t.operated(
        t.operator.change_configuration("SecurityProfile", "2"),
        "ChangeConfiguration",
        {"key": "SecurityProfile", "value": "2"},
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported ChangeConfiguration", outcome.get("status"), "Accepted")
    await reconnected(t, before)
    t.check(t.cp.url.startswith("wss://"), "the charge point did not move to TLS")
    status = await handshake_status(t, security.endpoints[1].url, t.cp.password, ssl_context=None)
    t.check(status == "HTTP 401", f"profile 1 is still let in after the upgrade: {status}")
    dut = local_dut(t)
    if dut is not None:
        profile = dut.store.security(t.cp_id)["profile"]
        t.check(profile == 2, f"the CSMS keeps the charge point on profile {profile}")


@security_case("TC_085_CSMS", "Basic Authentication - Valid username/password combination")
async def tc_085_basic_auth(t: CsmsHandle) -> None:
    """The charge point connects with its id and password (HTTP Basic) and is let in; the
    same id with a wrong password, or another id's name in the credentials, is refused
    with HTTP 401."""
    await t.booted()
    url = t.cp.url
    status = await handshake_status(t, url, f"{t.cp.password}-wrong")
    t.check(status == "HTTP 401", f"a wrong password was answered {status}, not HTTP 401")
    status = await handshake_status(t, url, None)
    t.check(status == "HTTP 401", f"no credentials were answered {status}, not HTTP 401")
    status = await handshake_status(t, url, t.cp.password)
    t.check(status == "101", f"the right password was answered {status}")


@security_case(
    "TC_086_CSMS", "TLS - server-side certificate - Valid certificate", requires=("security.tls",)
)
async def tc_086_tls_server_certificate(t: CsmsHandle) -> None:
    """The charge point connects over TLS, verifying the CSMS's certificate chain up to
    its CentralSystemRootCertificate and the host name: TLS 1.2 or higher with a suite
    of the whitepaper's list; the server certificate is valid now and not signed with
    RSASSA-PSS; the connection is accepted."""
    t.check(t.cp.url.startswith("wss://"), f"the CSMS's URL {t.cp.url} is not wss://")
    await t.booted()
    ssl_object = t.cp.link._connection.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
    version, cipher = ssl_object.version(), ssl_object.cipher()[0]
    t.details["tls"] = f"{version} {cipher}"
    t.check(version in ("TLSv1.2", "TLSv1.3"), f"TLS version {version}")
    t.check(version == "TLSv1.3" or cipher in TLS12_SUITES, f"cipher suite {cipher}")
    der = ssl_object.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    certificates(
        t, "the CSMS's TLS certificate", cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    t.check(ssl_object.getpeercert() != {}, "the server certificate was not verified")


@security_case(
    "TC_087_CSMS",
    "TLS - Client-side certificate - Valid certificate",
    requires=("security.tls", "security.profile3"),
)
async def tc_087_tls_client_certificate(t: CsmsHandle) -> None:
    """With a ChargePointCertificate from the CSR flow, the charge point (profile 3 in the
    CSMS) connects presenting it, without Basic auth, and is let in; a self-signed
    certificate for the same id is refused, and so is Basic auth on the profile-2 port."""
    await t.booted()
    request = await csr_flow(t)
    t.check(t.cp.security.certificate is not None, f"no certificate installed ({request})")
    security = t.cp.security
    t.check(3 in security.endpoints, "the CSMS's profile 3 URL is unknown (PICS security.url.3)")
    await (await t.operator.set_security_profile(3)).outcome(10, t.clock)
    await t.cp.disconnect()
    security.apply_profile(3)
    await t.connect()
    await t.boot()
    with tempfile.TemporaryDirectory(prefix="bench-087-") as tmp:
        context = _self_signed_context(t.cp_id, Path(tmp), security.endpoints[3].ca_file)
        status = await handshake_status(t, security.endpoints[3].url, None, ssl_context=context)
    t.check(status != "101", "a self-signed client certificate was let in")
    t.details["self_signed"] = status[:120]
    status = await handshake_status(
        t, security.endpoints[2].url, t.bench.password, ssl_context=None
    )
    t.check(status == "HTTP 401", f"Basic auth on profile 2 still lets it in: {status}")


@security_case("TC_088_CSMS", "WebSocket Subprotocol validation")
async def tc_088_subprotocol(t: CsmsHandle) -> None:
    """The CSMS selects ocpp1.6 when offered (also after another version); offered only
    a version it does not speak, it selects none (or refuses): never another one."""
    await t.booted()
    t.check(t.cp.link is not None, "not connected")
    chosen = t.cp._connection.subprotocol  # noqa: SLF001 - the negotiated value
    t.check(chosen == "ocpp1.6", f"the CSMS selected {chosen!r} for an ocpp1.6 charge point")
    await t.cp.disconnect()
    both = await _offer(t, ["ocpp2.0.1", "ocpp1.6"])
    t.check(both == "ocpp1.6", f"offered ocpp2.0.1 and ocpp1.6, the CSMS selected {both!r}")
    only = await _offer(t, ["ocpp2.0.1"])
    t.check(only in (None, "refused"), f"offered only ocpp2.0.1, the CSMS selected {only!r}")
    t.details["subprotocols"] = {"ocpp2.0.1+ocpp1.6": both, "ocpp2.0.1": only}


async def _offer(t: CsmsHandle, offered: list[str]) -> str | None:
    url = t.cp.url if not t.cp.url.endswith("/") else t.cp.url + t.cp_id
    headers = {"Authorization": build_authorization_basic(t.cp_id, t.cp.password)}
    context = t.cp.ssl_context or (client_ssl_context(t.cp.ca_file) if t.cp.ca_file else None)
    try:
        async with connect(
            url,
            subprotocols=offered,  # type: ignore[arg-type]
            additional_headers=headers if t.cp.password else {},
            ssl=context if url.startswith("wss://") else None,
            proxy=None,
            open_timeout=10,
        ) as connection:
            return connection.subprotocol
    except InvalidStatus:
        return "refused"
    except (OSError, WebSocketException) as exc:
        return f"error {exc}"


def _self_signed_context(cp_id: str, tmp: Path, ca_file: str | None) -> ssl.SSLContext:
    import datetime as dt

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cp_id)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "c.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = client_ssl_context(ca_file) if ca_file else ssl.create_default_context()
    context.load_cert_chain(tmp / "c.pem", tmp / "c.key")
    return context
