"""The Central System's side of the security extension: CSRs signed, security operations
sent through the one operations implementation, notifications kept."""

import asyncio

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID
from csms_rig import CP, PASSWORD, ahttp, running, send
from ocpp.v16 import call

from bench.security.ca import certificate_hash_data, verify_data


def csr_pem(key, cn=CP, org=None):
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    return csr.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


async def signed_chain(cs, cp, key, **names):
    since = cs.mark()
    answer = await send(cp, call.SignCertificate(csr=csr_pem(key, **names)))
    assert answer == {"status": "Accepted"}
    entry = await cs.wait_for_frame(
        CP, "CertificateSigned", direction="out", since=since, timeout=10
    )
    return entry["payload"]["certificateChain"]


def test_a_csr_without_o_is_signed_sha256_rsa_and_sent_back_on_its_own(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            cp.script("CertificateSigned", {"status": "Accepted"})
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            chain = await signed_chain(cs, cp, key, cn="SOMEONE-ELSE")
            leaf, ca = x509.load_pem_x509_certificates(chain.encode())
            assert leaf.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
            assert not isinstance(leaf.signature_algorithm_parameters, padding.PSS)
            leaf.verify_directly_issued_by(cs.cpo_ca().cert)
            assert ca == cs.cpo_ca().cert
            # The subject names the authenticated charge point, whatever the CSR asked.
            cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            assert cn == CP
            assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
            issued = cs.security_overview(CP)["issued_certificates"]
            assert issued[-1]["serial"] == format(leaf.serial_number, "x")

            ec_key = ec.generate_private_key(ec.SECP256R1())
            chain = await signed_chain(cs, cp, ec_key, org="Bench CPO")
            leaf = x509.load_pem_x509_certificates(chain.encode())[0]
            assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
                "Bench CPO"
            )

            answer = await send(cp, call.SignCertificate(csr="not a csr"))
            assert answer == {"status": "Rejected"}

    asyncio.run(main())


def test_notifications_are_kept_and_follow_their_requests(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            cp.script("GetLog", {"status": "Accepted", "filename": "security.log"})
            outcome = await cs.operate(CP, "GetLog", {"logType": "SecurityLog"})
            location = outcome.request["log"]["remoteLocation"]
            assert location.startswith("ftp://") and ":***@" in location  # shown redacted
            sent = [f for f in cp.frames if f[1] == "GetLog" and f[0] == "in"][-1][4]
            assert ":***@" not in sent["log"]["remoteLocation"]  # the wire has the password
            request_id = outcome.request["requestId"]
            await send(cp, call.LogStatusNotification("Uploading", request_id))
            await send(cp, call.LogStatusNotification("Uploaded", request_id))
            await send(
                cp,
                call.SecurityEventNotification(
                    type="InvalidFirmwareSignature", timestamp=cp.now(), tech_info="bad sig"
                ),
            )
            await send(cp, call.SignedFirmwareStatusNotification("Downloading", 77))
            view = cs.security_overview(CP)
            assert view["log_requests"][-1]["status"] == "Uploaded"
            assert view["log_requests"][-1]["file_name"] == "security.log"
            assert "***" in view["log_requests"][-1]["location"]
            assert view["security_events"][-1]["type"] == "InvalidFirmwareSignature"
            status, body = await ahttp("GET", f"{cs.api_url}/api/charge-points/{CP}/security")
            assert status == 200 and body["security_events"][-1]["techInfo"] == "bad sig"

    asyncio.run(main())


def test_signed_update_firmware_from_the_store_is_signed_by_the_manufacturer_ca(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            image = b"firmware image bytes" * 100
            cs.add_firmware("fw-2.0.bin", image)
            cp.script("SignedUpdateFirmware", {"status": "Accepted"})
            outcome = await cs.operate(CP, "SignedUpdateFirmware", {"firmwareFile": "fw-2.0.bin"})
            firmware = outcome.request["firmware"]
            cert = x509.load_pem_x509_certificate(firmware["signingCertificate"].encode())
            cert.verify_directly_issued_by(cs.manufacturer_ca().cert)
            assert verify_data(firmware["signingCertificate"], image, firmware["signature"])
            assert not verify_data(
                firmware["signingCertificate"], image + b"x", firmware["signature"]
            )
            request_id = outcome.request["requestId"]
            await send(cp, call.SignedFirmwareStatusNotification("Downloading", request_id))
            await send(cp, call.SignedFirmwareStatusNotification("InvalidSignature", request_id))
            rows = cs.security_overview(CP)["signed_firmware"]
            assert rows[-1]["status"] == "InvalidSignature" and rows[-1]["firmware"] == "fw-2.0.bin"

    asyncio.run(main())


def test_certificate_operations_fill_what_the_csms_knows(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            cp.script("InstallCertificate", {"status": "Accepted"})
            cp.script("DeleteCertificate", {"status": "Accepted"})
            root = cs.cpo_ca().pem
            cp.script(
                "GetInstalledCertificateIds",
                {"status": "Accepted", "certificateHashData": [certificate_hash_data(root)]},
            )
            out = await cs.operate(
                CP, "InstallCertificate", {"certificateType": "CentralSystemRootCertificate"}
            )
            assert out.request["certificate"] == root
            out = await cs.operate(
                CP, "InstallCertificate", {"certificateType": "ManufacturerRootCertificate"}
            )
            assert out.request["certificate"] == cs.manufacturer_ca().pem
            await cs.get_installed_certificate_ids(CP, "CentralSystemRootCertificate")
            installed = cs.security_overview(CP)["installed_certificates"]
            assert installed[0]["hash_data"] == [certificate_hash_data(root)]
            out = await cs.operate(CP, "DeleteCertificate", {"certificate": root})
            hashes_ = out.request["certificateHashData"]
            assert hashes_["serialNumber"] == format(cs.cpo_ca().cert.serial_number, "x")
            assert len(hashes_["issuerNameHash"]) == 64

    asyncio.run(main())


def test_authorization_key_rotation_keeps_the_old_key_until_the_new_one_is_used(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            seen = {}

            def accept(payload):
                seen["key"] = payload["value"]
                return {"status": "Accepted"}

            cp.script("ChangeConfiguration", accept)
            out = await cs.operate(CP, "ChangeConfiguration", {"key": "AuthorizationKey"})
            new_key = seen["key"]
            assert len(new_key) >= 16 and new_key != PASSWORD
            assert out.request["value"] == "***"
            logged = cs.store.operations(CP)[-1]["request"]
            assert logged["value"] == "***"
            assert new_key not in str(cs.store.configuration(CP))
            # The old key still works (the charge point has not switched yet) ...
            await cp.disconnect()
            await cp.connect()
            # ... until it has connected with the new one.
            await cp.disconnect()
            cp.password = new_key
            await cp.connect()
            await cp.disconnect()
            cp.password = PASSWORD
            from websockets.exceptions import InvalidStatus

            try:
                await cp.connect()
                raise AssertionError("the old key still works after the switch")
            except InvalidStatus as exc:
                assert exc.response.status_code == 401

    asyncio.run(main())


def test_security_profile_may_not_be_lowered(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            from bench.csms.operations import OperationError

            try:
                await cs.change_configuration(CP, "SecurityProfile", "1")
                raise AssertionError("a lower profile was sent")
            except OperationError as exc:
                assert "only be raised" in str(exc)

    asyncio.run(main())
