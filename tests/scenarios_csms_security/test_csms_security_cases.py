"""The security _CSMS cases: registered as the catalogue says, passing against our CSMS,
not applicable for a CSMS without the profile, and each failing against a Central System
that gets its part wrong (our CSMS with one piece broken)."""

import asyncio
import inspect

import pytest

from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import RunOptions, run_case

SPEED = 20.0
IDS = [
    f"TC_{n}_CSMS"
    for n in (
        "073",
        "074",
        "075_1",
        "075_2",
        "076",
        "077",
        "078",
        "079",
        "080",
        "081",
        "083",
        "085",
        "086",
        "087",
        "088",
    )
]


def cases():
    return {
        i: c for i, c in all_scenarios().items() if c.role == "csms" and c.profile == "security"
    }


def run(case_id):  # type: ignore[no-untyped-def]
    return asyncio.run(run_case(cases()[case_id], RunOptions(speed=SPEED)))


def test_the_fifteen_cases_are_registered():
    found = cases()
    assert sorted(found) == sorted(IDS)
    for case in found.values():
        assert case.requires[0] == "profile.security"
        assert case.title and inspect.getdoc(case.fn)


def test_a_csms_without_the_security_profile_makes_them_not_applicable():
    result = asyncio.run(
        run_case(cases()["TC_074_CSMS"], RunOptions(pics="seed-csms", speed=SPEED))
    )
    assert result.verdict == "n/a" and "profile.security" in result.details["message"]


@pytest.mark.parametrize("case_id", IDS)
def test_case_passes_against_our_csms(case_id):
    result = run(case_id)
    assert result.verdict == "pass", (result.details.get("message"), result.steps[-6:])


def broken(monkeypatch, target, name, replacement):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(target, name, replacement)


def fails(case_id, *words):  # type: ignore[no-untyped-def]
    result = run(case_id)
    assert result.verdict == "fail", (case_id, result.details)
    for word in words:
        assert word in result.details["message"], result.details["message"]
    return result


def test_a_short_authorization_key_fails_073(monkeypatch):
    from bench.csms import security_ops

    broken(monkeypatch, security_ops, "generate_password", lambda length=32: "short-key")
    broken(monkeypatch, security_ops, "fast_hash", security_ops.hash_password)
    fails("TC_073_CSMS", "not 16-40")


def test_keeping_the_old_key_valid_fails_073(monkeypatch):
    from bench.csms.store.security import SecurityRows

    broken(monkeypatch, SecurityRows, "clear_pending_security", lambda self, cp_id, **kw: None)
    fails("TC_073_CSMS")


def test_no_certificate_signed_after_sign_certificate_fails_074(monkeypatch):
    from bench.csms.server import CentralSystem

    async def nothing(self, cp_id, csr):  # type: ignore[no-untyped-def]
        return None

    broken(monkeypatch, CentralSystem, "_send_signed_certificate", nothing)
    fails("TC_074_CSMS", "CertificateSigned")


def test_a_pss_signed_certificate_fails_074(monkeypatch):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from bench.security import ca

    original = ca.CertificateAuthority._leaf

    def pss_leaf(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        builder_sign = ca.x509.CertificateBuilder.sign

        def sign(builder, key, algorithm, **kw):  # type: ignore[no-untyped-def]
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return builder_sign(builder, key, algorithm, rsa_padding=pad)

        monkeypatch.setattr(ca.x509.CertificateBuilder, "sign", sign)
        try:
            return original(self, *args, **kwargs)
        finally:
            monkeypatch.setattr(ca.x509.CertificateBuilder, "sign", builder_sign)

    broken(monkeypatch, ca.CertificateAuthority, "_leaf", pss_leaf)
    fails("TC_074_CSMS", "RSASSA-PSS")


def test_installing_the_wrong_root_type_fails_075(monkeypatch):
    from bench.csms.security_ops import SecurityOperations

    original = SecurityOperations._prepare_install_certificate

    def swapped(self, cp_id, p, notes):  # type: ignore[no-untyped-def]
        p = original(self, cp_id, p, notes)
        other = {"ManufacturerRootCertificate": "CentralSystemRootCertificate"}
        p["certificateType"] = other.get(p["certificateType"], "ManufacturerRootCertificate")
        return p

    broken(monkeypatch, SecurityOperations, "_prepare_install_certificate", swapped)
    fails("TC_075_1_CSMS", "InstallCertificate")
    fails("TC_075_2_CSMS", "InstallCertificate")


def test_deleting_another_certificate_fails_076(monkeypatch):
    from bench.csms.security_ops import SecurityOperations

    original = SecurityOperations._prepare_delete_certificate

    def off_by_one(self, cp_id, p, notes):  # type: ignore[no-untyped-def]
        p = original(self, cp_id, p, notes)
        data = dict(p["certificateHashData"])
        data["serialNumber"] = format(int(data["serialNumber"], 16) + 1, "x")
        p["certificateHashData"] = data
        return p

    broken(monkeypatch, SecurityOperations, "_prepare_delete_certificate", off_by_one)
    fails("TC_076_CSMS", "DeleteCertificate.req names")


def test_security_events_answered_with_an_error_fail_077_and_078(monkeypatch):
    from bench.csms import handlers, security_handlers

    def crash(store, clock, cp_id, payload):  # type: ignore[no-untyped-def]
        raise RuntimeError("no security events here")

    monkeypatch.setitem(handlers.HANDLERS, "SecurityEventNotification", crash)
    monkeypatch.setitem(security_handlers.SECURITY_HANDLERS, "SecurityEventNotification", crash)
    from bench.csms import session

    monkeypatch.setattr(
        session.ChargePointSession,
        "on_SecurityEventNotification",
        session._route("SecurityEventNotification", crash),
    )
    fails("TC_077_CSMS", "SecurityEventNotification")
    fails("TC_078_CSMS", "SecurityEventNotification")


def test_a_diagnostics_log_instead_of_the_security_log_fails_079(monkeypatch):
    from bench.csms.security_ops import SecurityOperations

    original = SecurityOperations._prepare_get_log

    def wrong(self, cp_id, p, notes):  # type: ignore[no-untyped-def]
        p = original(self, cp_id, p, notes)
        p["logType"] = "DiagnosticsLog"
        return p

    broken(monkeypatch, SecurityOperations, "_prepare_get_log", wrong)
    fails("TC_079_CSMS", "GetLog")


def test_a_signature_over_other_bytes_fails_080(monkeypatch):
    from bench.csms import security_ops

    original = security_ops.sign_data
    broken(monkeypatch, security_ops, "sign_data", lambda key, data: original(key, data + b"!"))
    fails("TC_080_CSMS", "InvalidSignature")


def test_a_csms_that_does_not_keep_signed_firmware_statuses_fails_081(monkeypatch):
    from bench.csms.store.security import SecurityRows

    original = SecurityRows.set_request_status

    def forgetful(self, table, cp_id, request_id, status, ts, file_name=None):  # type: ignore[no-untyped-def]
        if table != "signed_firmware":
            original(self, table, cp_id, request_id, status, ts, file_name)

    broken(monkeypatch, SecurityRows, "set_request_status", forgetful)
    fails("TC_081_CSMS", "InvalidSignature")


def test_a_csms_that_never_takes_the_raised_profile_fails_083(monkeypatch):
    from bench.csms.server import CentralSystem

    broken(monkeypatch, CentralSystem, "_connected_with", lambda self, *a: None)
    original = CentralSystem._authenticate

    async def old_profile_only(self, connection, request, profile):  # type: ignore[no-untyped-def]
        sec = self.store.security("BENCH-CP-001")
        if sec and sec.get("pending_profile") == profile:
            self.store.clear_pending_security("BENCH-CP-001", profile=True)
        return await original(self, connection, request, profile)

    broken(monkeypatch, CentralSystem, "_authenticate", old_profile_only)
    fails("TC_083_CSMS")


def test_accepting_any_password_fails_085(monkeypatch):
    from bench.csms.credentials import CredentialChecker

    async def anything(self, cp_id, password, stored):  # type: ignore[no-untyped-def]
        return True

    broken(monkeypatch, CredentialChecker, "matches", anything)
    fails("TC_085_CSMS", "HTTP 401")


def test_a_server_certificate_from_another_ca_fails_086(monkeypatch, tmp_path):
    from bench.security import pki

    other = pki.ensure_pki(tmp_path / "other-ca")
    original = pki.server_ssl_context
    broken(
        monkeypatch,
        pki,
        "server_ssl_context",
        lambda cert, key: original(other.server_cert, other.server_key),
    )
    fails("TC_086_CSMS", "CERTIFICATE_VERIFY_FAILED")


def test_a_csms_that_takes_any_client_certificate_fails_087(monkeypatch):
    import ssl

    from bench.csms.server import CentralSystem
    from bench.security import pki

    original = pki.client_cert_server_context

    def lax(cert, key, ca_file):  # type: ignore[no-untyped-def]
        context = original(cert, key, ca_file)
        context.verify_mode = ssl.CERT_NONE  # no client certificate checked at all
        return context

    async def no_check(self, connection, cp_id, source, sec):  # type: ignore[no-untyped-def]
        connection.username = cp_id
        return None

    broken(monkeypatch, pki, "client_cert_server_context", lax)
    broken(monkeypatch, CentralSystem, "_check_client_certificate", no_check)
    fails("TC_087_CSMS", "self-signed")


def test_selecting_another_subprotocol_fails_088(monkeypatch):
    from bench.csms import handshake

    broken(monkeypatch, handshake, "_select_ocpp16", lambda connection, offered: offered[0])
    fails("TC_088_CSMS", "selected")
