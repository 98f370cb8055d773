"""Certificates: the CSR flow, root certificates installed, listed and deleted, and the
security events a charge point sends when a certificate is not good enough."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.csms_security.steps import (
    CS_ROOT,
    MF_ROOT,
    certificates,
    check_status,
    csr_flow,
    event_answered,
    handshake_status,
    is_ca,
    local_dut,
    security_case,
)
from bench.security.ca import certificate_hash_data
from charger.protocol.frames import CALLRESULT


@security_case("TC_074_CSMS", "Update Charge Point Certificate by request of Central System")
async def tc_074_csr_flow(t: CsmsHandle) -> None:
    """ExtendedTriggerMessage SignChargePointCertificate; the charge point makes a key
    pair and sends a CSR (SignCertificate, no O field): Accepted; the CSMS sends
    CertificateSigned with a chain the charge point verifies (for its key, up to its
    CentralSystemRootCertificate, SHA256withRSA or ECDSA) and accepts."""
    await t.booted()
    request = await csr_flow(t)
    chain = certificates(
        t, "CertificateSigned.req certificateChain", request.get("certificateChain")
    )
    t.check(
        not is_ca(chain[0]), "the first certificate of the chain is a CA, not the charge point's"
    )
    reply = t.reply_to(request)
    t.check(
        reply is not None
        and reply["message_type"] == CALLRESULT
        and reply["payload"].get("status") == "Accepted",
        f"the charge point refused the chain: {reply and reply['payload']}; "
        f"security log: {t.cp.security.security_log[-1:]}",
    )
    t.check(t.cp.security.certificate is not None, "the certificate was not installed")
    t.details["certificate_subject"] = chain[0].subject.rfc4514_string()
    dut = local_dut(t)
    if dut is not None:
        issued = dut.security_overview(t.cp_id)["issued_certificates"]
        t.check(
            bool(issued) and issued[-1]["serial"] == format(chain[0].serial_number, "x"),
            f"the CSMS shows no record of the certificate it issued: {issued}",
        )


async def install(t: CsmsHandle, kind: str) -> str:
    """The operator installs the DUT's root of ``kind``; returns the certificate sent."""
    request, sent = await t.operated(
        t.operator.install_certificate(kind), "InstallCertificate", {"certificateType": kind}
    )
    chain = certificates(t, "InstallCertificate.req certificate", sent.get("certificate"))
    t.check(is_ca(chain[0]), f"the {kind} sent is not a CA certificate")
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported InstallCertificate", outcome.get("status"), "Accepted")
    t.check(
        sent["certificate"] in t.cp.security.roots[kind],
        f"the charge point did not install the {kind}",
    )
    return sent["certificate"]


@security_case("TC_075_1_CSMS", "Install a certificate on the Charge Point - Manufacturer")
async def tc_075_1_install_manufacturer_root(t: CsmsHandle) -> None:
    """InstallCertificate.req ManufacturerRootCertificate with a CA certificate (PEM);
    the charge point accepts it."""
    await t.booted()
    pem = await install(t, MF_ROOT)
    dut = local_dut(t)
    if dut is not None:
        t.check(pem == dut.manufacturer_ca().pem, "the CSMS sent another root than its own")


@security_case("TC_075_2_CSMS", "Install a certificate on the Charge Point - Central System")
async def tc_075_2_install_central_system_root(t: CsmsHandle) -> None:
    """InstallCertificate.req CentralSystemRootCertificate with the root the CSMS's own
    TLS certificate chains to; the charge point accepts it."""
    await t.booted()
    t.cp.security.roots[CS_ROOT].clear()  # a charge point that has not got it yet
    pem = await install(t, CS_ROOT)
    if t.cp.ca_file and Path(t.cp.ca_file).is_file():
        t.check(
            pem.strip() == Path(t.cp.ca_file).read_text().strip(),
            "the CentralSystemRootCertificate is not the root of the CSMS's TLS certificate",
        )


@security_case("TC_076_CSMS", "Delete a specific certificate from the Charge Point")
async def tc_076_delete_certificate(t: CsmsHandle) -> None:
    """GetInstalledCertificateIds CentralSystemRootCertificate lists two roots; the
    operator deletes the second: DeleteCertificate.req carries exactly its hash data
    (hash algorithm, issuer name and key hashes, serial number) and it is gone."""
    await t.booted()
    extra = _extra_root()
    roots = t.cp.security.roots[CS_ROOT]
    roots.append(extra)
    request, _ = await t.operated(
        t.operator.get_installed_certificate_ids(CS_ROOT),
        "GetInstalledCertificateIds",
        {"certificateType": CS_ROOT},
    )
    outcome = await t.outcome(request)
    listed = outcome.get("certificateHashData") if outcome else None
    wanted = certificate_hash_data(extra)
    if outcome is not None:
        t.check(wanted in (listed or []), f"the CSMS reported {listed}")
    dut = local_dut(t)
    if dut is not None:
        kept = dut.security_overview(t.cp_id)["installed_certificates"]
        t.check(
            any(wanted in row["hash_data"] for row in kept),
            f"the CSMS did not keep the installed certificates: {kept}",
        )
    request, sent = await t.operated(t.operator.delete_certificate(wanted), "DeleteCertificate")
    have = sent.get("certificateHashData") or {}
    t.check(
        {k: str(have.get(k, "")).lower() for k in wanted}
        == {k: v.lower() for k, v in wanted.items()},
        f"DeleteCertificate.req names {have}, not the certificate chosen {wanted}",
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported DeleteCertificate", outcome.get("status"), "Accepted")
    t.check(extra not in roots and len(roots) == 1, "the certificate was not deleted")


@security_case("TC_077_CSMS", "Invalid ChargePointCertificate Security Event")
async def tc_077_invalid_charge_point_certificate(t: CsmsHandle) -> None:
    """CSR flow, but the charge point finds the chain invalid: CertificateSigned.conf
    Rejected and SecurityEventNotification InvalidChargePointCertificate, which the CSMS
    acknowledges (and ours shows)."""
    await t.booted()
    t.cp.security.refuse_certificate = "the chain does not lead to the CPO root (test)"
    since = t.mark()
    request = await csr_flow(t)
    reply = t.reply_to(request)
    t.check(
        reply is not None and reply["payload"].get("status") == "Rejected",
        f"the charge point did not reject the chain: {reply}",
    )
    await event_answered(t, "InvalidChargePointCertificate", since)


@security_case(
    "TC_078_CSMS", "Invalid CentralSystemCertificate Security Event", requires=("security.tls",)
)
async def tc_078_invalid_central_system_certificate(t: CsmsHandle) -> None:
    """A charge point that trusts another root cannot connect (the CSMS's certificate
    does not verify); with the right root it connects, boots and reports
    InvalidCentralSystemCertificate, which the CSMS acknowledges (and ours shows)."""
    t.check(t.cp.url.startswith("wss://"), f"the CSMS's URL {t.cp.url} is not wss://")
    with tempfile.TemporaryDirectory(prefix="bench-078-") as tmp:
        other = Path(tmp) / "other-root.pem"
        other.write_text(_extra_root())
        status = await handshake_status(
            t, t.cp.url, t.cp.password, ca_file=str(other), ssl_context=None
        )
    t.check(
        "CERTIFICATE_VERIFY_FAILED" in status or "certificate verify failed" in status,
        f"with another root the TLS handshake gave {status}, not a verification failure",
    )
    t.cp.security.event("InvalidCentralSystemCertificate", status[:200])
    await t.booted()
    since = t.mark()
    await t.cp.security.send_event("InvalidCentralSystemCertificate", "server certificate")
    await event_answered(t, "InvalidCentralSystemCertificate", since)


def _extra_root() -> str:
    """A second, unrelated root certificate (PEM)."""
    from bench.security.pki import _issue_ca, _new_key

    key = _new_key()
    cert = _issue_ca(key, "OCPP bench extra root")
    return cert.public_bytes(serialization.Encoding.PEM).decode()
