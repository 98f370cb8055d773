"""Security, certificate management: TC_074_CS, TC_075_1_CS, TC_075_2_CS, TC_076_CS,
TC_077_CS."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from ocpp.v16 import call

from bench.scenarios.cs_security.steps import (
    CS_ROOT,
    MF_ROOT,
    PROFILE,
    Connections,
    expect_event,
    expect_listed,
    installed,
    new_ca,
    operate,
    present_server_certificate,
    ready,
    reboot,
    renew_certificate,
    request_csr,
    same_certificate,
    server_identity,
    status_is,
    upgrade_to_profile_3,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario
from bench.security.ca import CertificateAuthority


async def install(t: Handle, kind: str, pem: str, what: str) -> None:
    answer = await operate(t, "InstallCertificate", certificateType=kind, certificate=pem)
    status_is(t, f"InstallCertificate {kind} ({what})", answer, "Accepted")


@scenario(
    "TC_074_CS",
    "Update Charge Point Certificate by request of Central System",
    profile="security",
    requires=(PROFILE,),
    timeout_s=300,
)
async def tc_074(t: Handle) -> None:
    """ExtendedTriggerMessage SignChargePointCertificate: Accepted; the charge point sends
    SignCertificate with a CSR signed by its own new key (RSA 2048+/EC 224+, not PSS);
    the CSMS answers Accepted, its CPO CA signs the CSR and sends CertificateSigned: the
    charge point answers Accepted. A charge point with profile 3 (PICS SEC-3) then uses
    that certificate: raised to profile 3 it presents exactly it in the next TLS
    handshake. Whitepaper 2.2 (A02 Update Charge Point Certificate by request of CSMS)."""
    await ready(t)
    chain = await renew_certificate(t)
    if t.pics.get("SEC-3"):
        await upgrade_to_profile_3(t, chain)
    else:
        t.details["next_handshake"] = "no profile 3 (PICS SEC-3): the certificate is not used"


@scenario(
    "TC_075_1_CS",
    "Install a certificate on the Charge Point - ManufacturerRootCertificate",
    profile="security",
    requires=(PROFILE,),
    timeout_s=240,
)
async def tc_075_1(t: Handle) -> None:
    """InstallCertificate ManufacturerRootCertificate with the root of a manufacturer CA
    the charge point has not seen: Accepted; GetInstalledCertificateIds
    ManufacturerRootCertificate lists it with the right certificateHashData (issuer name
    and key hashes, serial); after a reset it is still listed. Whitepaper 2.5 (M05
    Install CA certificate), 2.7 CertificateHashData."""
    await ready(t)
    pem = new_ca(t, "manufacturer-2").pem
    await install(t, MF_ROOT, pem, "a new manufacturer root")
    entry = await expect_listed(t, MF_ROOT, pem, "the manufacturer root just installed")
    t.details["installed"] = entry
    seen = await reboot(t)
    await seen.next(why="after the reset")
    await expect_listed(t, MF_ROOT, pem, "the manufacturer root after a reset")


@scenario(
    "TC_075_2_CS",
    "Install a certificate on the Charge Point - CentralSystemRootCertificate",
    profile="security",
    requires=(PROFILE, "SEC-2"),
    timeout_s=300,
)
async def tc_075_2(t: Handle) -> None:
    """InstallCertificate CentralSystemRootCertificate with the root of a second CPO CA:
    Accepted; GetInstalledCertificateIds CentralSystemRootCertificate lists it; and the
    charge point trusts it: when the CSMS presents a server certificate from that CA, the
    charge point connects. Whitepaper 2.5 (M05), 1.3.3 (the server certificate is
    verified against the installed CentralSystemRootCertificate)."""
    await ready(t)
    second = new_ca(t, "cpo-2")
    await install(t, CS_ROOT, second.pem, "a second CPO root")
    await expect_listed(t, CS_ROOT, second.pem, "the second CPO root just installed")
    seen = Connections(t)
    identity = server_identity(t, second, "csms-cpo2", "127.0.0.1")
    await present_server_certificate(t, identity, "a server certificate from the second CPO CA")
    await seen.next(why="to a CSMS whose certificate the newly installed root vouches for")
    t.details["trusted"] = "connected to a server certificate issued by the installed root"


@scenario(
    "TC_076_CS",
    "Delete a specific certificate from the Charge Point",
    profile="security",
    requires=(PROFILE,),
    timeout_s=240,
)
async def tc_076(t: Handle) -> None:
    """A new ManufacturerRootCertificate is installed and listed; DeleteCertificate with the
    certificateHashData the charge point reported: Accepted; GetInstalledCertificateIds no
    longer lists it; deleting it again: NotFound. Where the last CentralSystemRootCertificate
    may not be removed (PICS AQ-1 false): DeleteCertificate of it is Failed, it stays
    listed, and the charge point still connects with it. Whitepaper 2.6 (M04 Delete a
    specific certificate), 2.7."""
    await ready(t)
    pem = new_ca(t, "manufacturer-2").pem
    await install(t, MF_ROOT, pem, "a new manufacturer root")
    entry = await expect_listed(t, MF_ROOT, pem, "the manufacturer root just installed")
    answer = await operate(t, "DeleteCertificate", certificateHashData=entry)
    status_is(t, "DeleteCertificate (the manufacturer root)", answer, "Accepted")
    left = [e for e in await installed(t, MF_ROOT) if same_certificate(e, pem)]
    t.check(not left, f"the deleted manufacturer root is still listed: {left}")
    answer = await operate(t, "DeleteCertificate", certificateHashData=entry)
    status_is(t, "DeleteCertificate of a certificate no longer installed", answer, "NotFound")
    if t.pics.get("AQ-1"):
        t.details["last_root"] = "AQ-1: the last CentralSystemRootCertificate may be removed"
        return
    roots = await installed(t, CS_ROOT)
    if len(roots) != 1:
        t.details["last_root"] = f"{len(roots)} CentralSystemRootCertificates: none is the last"
        return
    answer = await operate(t, "DeleteCertificate", certificateHashData=roots[0])
    status_is(t, "DeleteCertificate of the last CentralSystemRootCertificate", answer, "Failed")
    t.check(
        len(await installed(t, CS_ROOT)) == 1,
        "the last CentralSystemRootCertificate is gone although the deletion Failed",
    )
    seen = await reboot(t)
    await seen.next(why="after a reset, with its CentralSystemRootCertificate kept")


def foreign_chain(t: Handle, csr_key: object, issuer: CertificateAuthority) -> str:
    """A charge point certificate for ``csr_key`` from ``issuer``, as a chain."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert = issuer._leaf(  # the CA's own leaf builder, with the key of the CSR
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, t.cp_id)]),
        csr_key,  # type: ignore[arg-type]
        30,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode() + issuer.pem


@scenario(
    "TC_077_CS",
    "Invalid ChargePointCertificate Security Event",
    profile="security",
    requires=(PROFILE,),
    timeout_s=300,
)
async def tc_077(t: Handle) -> None:
    """The CSR flow, but the CSMS answers with invalid chains: first a certificate for the
    charge point's key issued by a CA it does not know, then one from the CPO CA for
    another key. Each CertificateSigned is Rejected and followed by a
    SecurityEventNotification InvalidChargePointCertificate. Whitepaper 2.2 (A02: an
    invalid certificate is rejected and an InvalidChargePointCertificate event raised)."""
    await ready(t)
    t.csms.auto_certificate_signed = False  # the case sends its own CertificateSigned
    unknown = new_ca(t, "unknown-cpo")
    csr = await request_csr(t)
    mark = t.mark()
    answer = await t.call(
        call.CertificateSigned(certificate_chain=foreign_chain(t, csr.public_key(), unknown))
    )
    status_is(t, "CertificateSigned with a chain from an unknown CA", answer, "Rejected")
    await expect_event(
        t, "InvalidChargePointCertificate", mark, why="after rejecting a chain from an unknown CA"
    )
    other = new_ca(t, "other-key")  # only its key pair is used: not the charge point's key
    await request_csr(t)
    mark = t.mark()
    chain = foreign_chain(t, other.key.public_key(), t.csms.cpo_ca())
    answer = await t.call(call.CertificateSigned(certificate_chain=chain))
    status_is(t, "CertificateSigned for a key that is not the charge point's", answer, "Rejected")
    await expect_event(
        t, "InvalidChargePointCertificate", mark, why="after rejecting another key's certificate"
    )
    t.details["csr_flow"] = "both invalid chains rejected with an event"
