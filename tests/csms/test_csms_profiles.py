"""Security profiles per charge point: one port per profile, the wrong one refused at the
handshake, profile 3 by client certificate, raising the profile over OCPP."""

import asyncio
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from csms_rig import status_of

from bench.csms.server import CentralSystem
from bench.scenarios.csms_role import SimChargePoint
from bench.scenarios.sim_security import Endpoint
from bench.security.pki import client_cert_server_context, server_ssl_context
from charger.clock import Clock
from charger.protocol.tls import client_ssl_context
from charger.protocol.transport import connect_client

PASSWORD = "profile-password-0123456789"


def make_csms(tmp_path, pki):
    return CentralSystem(
        tmp_path / "csms",
        Clock.start(),
        ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
        pki_dir=pki.ca_cert.parent,
        plain_port=0,
        client_cert_port=0,
        client_cert_ssl_context=client_cert_server_context(
            pki.server_cert, pki.server_key, pki.ca_cert
        ),
    )


def client_cert(tmp_path, cs, cn):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    cert_file, key_file = tmp_path / f"{cn}.pem", tmp_path / f"{cn}.key"
    cert_file.write_text(cs.cpo_ca().sign_csr(csr, cn))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_each_charge_point_connects_only_with_its_own_profile(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            cs.register_charge_point("P1", PASSWORD, profile=1)
            cs.register_charge_point("P2", PASSWORD, profile=2)
            cs.register_charge_point("P3", None, profile=3)
            ca = pki.ca_cert

            def basic(cp, profile):
                return connect_client(cs.url(cp, profile), cp, PASSWORD, ca)

            assert await status_of(basic("P1", 1)) == 101
            assert await status_of(basic("P2", 2)) == 101
            assert await status_of(basic("P1", 2)) == 401  # profile 1 over TLS: refused
            assert await status_of(basic("P2", 1)) == 401  # profile 2 without TLS: refused
            assert await status_of(basic("P3", 2)) == 401  # a profile-3 charge point
            assert await status_of(basic("NOPE", 2)) == 404

            cert, key = client_cert(tmp_path, cs, "P3")
            context = client_ssl_context(ca)
            context.load_cert_chain(cert, key)
            p3 = connect_client(cs.url("P3", 3), "P3", None, ssl_context=context)
            assert await status_of(p3) == 101
            # Another charge point's certificate does not open P3's account, nor P2's.
            other, other_key = client_cert(tmp_path, cs, "P2")
            context = client_ssl_context(ca)
            context.load_cert_chain(other, other_key)
            wrong = connect_client(cs.url("P3", 3), "P3", None, ssl_context=context)
            assert await status_of(wrong) == 401
            p2_on_3 = connect_client(cs.url("P2", 3), "P2", None, ssl_context=context)
            assert await status_of(p2_on_3) == 401
            # Without a client certificate there is no TLS session at all.
            with pytest.raises((ssl.SSLError, OSError, Exception)):
                bare = await connect_client(cs.url("P3", 3), "P3", None, ca)
                await bare.recv()
            # What each accepted handshake showed (the _CS security cases read it).
            seen = {c["cp_id"]: c for c in cs.connections}
            assert set(seen) == {"P1", "P2", "P3"}
            assert (seen["P1"]["profile"], seen["P1"]["tls_version"]) == (1, None)
            assert seen["P1"]["username"] == "P1" and seen["P1"]["client_certificate"] is None
            assert seen["P2"]["profile"] == 2 and seen["P2"]["username"] == "P2"
            assert seen["P2"]["tls_version"] in ("TLSv1.2", "TLSv1.3")
            assert seen["P3"]["profile"] == 3
            presented = x509.load_pem_x509_certificate(seen["P3"]["client_certificate"].encode())
            issued = x509.load_pem_x509_certificate(cert.read_bytes())
            assert presented.serial_number == issued.serial_number

    asyncio.run(main())


def test_raising_the_profile_to_3_over_ocpp(tmp_path, pki):
    """CSR flow, then SecurityProfile 3: the charge point reconnects with its certificate;
    afterwards Basic auth on the profile-2 port is refused for it."""

    async def main():
        async with make_csms(tmp_path, pki) as cs:
            cs.register_charge_point("UP", PASSWORD, profile=2)
            cp = SimChargePoint(
                "UP", cs.url("UP"), PASSWORD, cs.clock, lambda *f: None, ca_file=pki.ca_cert
            )
            cp.security.endpoints = {
                2: Endpoint(cs.url("UP", 2), str(pki.ca_cert)),
                3: Endpoint(cs.url("UP", 3), str(pki.ca_cert)),
            }
            cp.security.reconnect_pause = 0.1
            cp.security.roots["CentralSystemRootCertificate"].append(pki.ca_cert.read_text())
            try:
                await cp.connect()
                await cs.wait_connected("UP", 5)
                since = cs.mark()
                answer = await cs.extended_trigger_message("UP", "SignChargePointCertificate")
                assert answer["status"] == "Accepted"
                entry = await cs.wait_for_frame(
                    "UP", "CertificateSigned", direction="in", message_type=3, since=since
                )
                assert entry["payload"] == {"status": "Accepted"}
                assert cp.security.certificate is not None
                answer = await cs.change_configuration("UP", "SecurityProfile", "3")
                assert answer == {"status": "Accepted"}
                for _ in range(100):
                    if cs.store.security("UP")["profile"] == 3 and cs.connected("UP"):
                        break
                    await asyncio.sleep(0.05)
                assert cs.store.security("UP")["profile"] == 3
                assert cp.security.profile == 3 and cp.url == cs.url("UP", 3)
                refused = connect_client(cs.url("UP", 2), "UP", PASSWORD, pki.ca_cert)
                assert await status_of(refused) == 401
            finally:
                await cp.close()

    asyncio.run(main())
