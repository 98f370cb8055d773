"""Security, signed firmware update: TC_080_CS, TC_081_CS.

The image is the bench's own firmware build (``t.firmware_location("good")``, version
2.0.0) in the CSMS's FTP store. The CSMS signs it as the whitepaper says: a
firmware-signing certificate from the bench's manufacturer CA and a base64 SHA-256
signature over the file. The bad variants keep the file and change what vouches for it:
a signature over other bytes, or a signing certificate from a CA the charge point has no
ManufacturerRootCertificate for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bench.scenarios.cs_core.steps import REBOOT_WITHIN, connectors
from bench.scenarios.cs_optional.steps import at, resolved
from bench.scenarios.cs_security.steps import (
    MF_ROOT,
    PROFILE,
    bench_root,
    ensure_root,
    expect_event,
    operate,
    ready,
    reboot,
    status_is,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario
from bench.security.ca import manufacturer_ca, sign_data

DOWNLOAD_WITHIN = 60.0
INSTALL_WITHIN = 120.0
STATUS = "SignedFirmwareStatusNotification"
FAILED = ("DownloadFailed", "InstallationFailed", "InvalidSignature", "InstallVerificationFailed")


def running_version(t: Handle) -> str | None:
    boots = t.from_dut(0, "BootNotification")
    t.check(bool(boots), "the charger never sent a BootNotification")
    return boots[-1]["payload"].get("firmwareVersion")


def statuses(t: Handle, since: int) -> list[str]:
    return [f["payload"].get("status") for f in t.from_dut(since, STATUS)]


async def trust_manufacturer(t: Handle) -> None:
    """The precondition: the bench's manufacturer root is a ManufacturerRootCertificate of
    the charge point (installed now unless it already lists it)."""
    await ensure_root(t, MF_ROOT, bench_root(t, MF_ROOT), "the bench's manufacturer root")


async def image(t: Handle) -> str:
    """The good image's file name in the CSMS's FTP store."""
    location = await resolved(t.firmware_location("good"))
    return urlsplit(location).path.rsplit("/", 1)[-1]


def firmware(t: Handle, name: str, certificate: str, signature: str) -> dict[str, Any]:
    return {
        "location": t.csms.ftp_server().firmware_location(name),
        "retrieveDateTime": at(t),
        "signingCertificate": certificate,
        "signature": signature,
    }


def request_id_of(t: Handle, since: int) -> int:
    sent = [
        f["payload"]
        for f in t.system.trace[since:]
        if f["sender"] == "bench" and f["action"] == "SignedUpdateFirmware"
    ]
    return int(sent[0]["requestId"])


def same_request(t: Handle, found: list[dict[str, Any]], request_id: int) -> None:
    for payload in found:
        t.check(
            payload.get("requestId") == request_id,
            f"{STATUS} {payload.get('status')} has requestId {payload.get('requestId')!r}, "
            f"not the SignedUpdateFirmware's {request_id}",
        )


@scenario(
    "TC_080_CS", "Secure Firmware Update", profile="security", requires=(PROFILE,), timeout_s=420
)
async def tc_080(t: Handle) -> None:
    """With the manufacturer root installed, SignedUpdateFirmware of a good image signed
    by a certificate from that CA: Accepted; SignedFirmwareStatusNotification Downloading,
    Downloaded, SignatureVerified, Installing in that order, each with the request's
    requestId; the charge point reboots into the new firmware (BootNotification with
    another firmwareVersion), reports Installed (not before that reboot) and sends
    SecurityEventNotification FirmwareUpdated; no failure status; connectors Available.
    Whitepaper 2.8 (L01 Secure firmware update), 3 (FirmwareUpdated is critical)."""
    await ready(t)
    old = running_version(t)
    await trust_manufacturer(t)
    name = await image(t)
    mark = t.mark()
    answer = await operate(t, "SignedUpdateFirmware", firmwareFile=name)
    status_is(t, "SignedUpdateFirmware (a good, signed image)", answer, "Accepted")
    request_id = request_id_of(t, mark)
    found = await t.expect_sequence(
        [
            (STATUS, {"status": "Downloading"}),
            (STATUS, {"status": "Downloaded"}),
            (STATUS, {"status": "SignatureVerified"}),
            (STATUS, {"status": "Installing"}),
        ],
        within=DOWNLOAD_WITHIN + INSTALL_WITHIN,
        since=mark,
    )
    same_request(t, found, request_id)
    failed = [s for s in statuses(t, mark) if s in FAILED]
    t.check(not failed, f"the signed update failed: {STATUS} {failed}")
    installing = t.index_of(found[-1])
    boot = await t.expect("BootNotification", within=INSTALL_WITHIN, since=installing)
    new = boot.get("firmwareVersion")
    t.details["firmware"] = {"before": old, "after": new}
    t.check(
        new is not None and new != old,
        f"after installing, the charger booted firmwareVersion {new!r}, the same as before",
    )
    rebooted = t.index_of(boot)
    early = [s for s in statuses(t, installing) if s == "Installed"]
    if early and "Installed" not in statuses(t, rebooted):
        raise ScenarioFailed("the charger reported Installed before it rebooted into the image")
    done = await t.expect(STATUS, {"status": "Installed"}, within=60, since=rebooted)
    same_request(t, [done], request_id)
    await expect_event(t, "FirmwareUpdated", rebooted, why="after booting the new firmware")
    failed = [s for s in statuses(t, mark) if s in FAILED]
    t.check(not failed, f"the update reported {failed} as well as Installed")
    for connector in connectors(t):
        await t.wait_until(
            f"connector {connector} Available",
            lambda c=connector: (t.statuses(c) or [None])[-1] == "Available",
            30,
        )


@scenario(
    "TC_081_CS",
    "Secure Firmware Update - Invalid Signature",
    profile="security",
    requires=(PROFILE,),
    timeout_s=420,
)
async def tc_081(t: Handle) -> None:
    """With the manufacturer root installed: (1) SignedUpdateFirmware whose signing
    certificate comes from a CA the charge point has no root for: InvalidCertificate, a
    SecurityEventNotification InvalidFirmwareSigningCertificate and no download; (2) a
    genuine signing certificate but a signature that does not match the file: Accepted,
    Downloading, Downloaded, then InvalidSignature (never SignatureVerified, Installing,
    Installed) and a SecurityEventNotification InvalidFirmwareSignature; the charge point
    does not reboot and after a reset still runs the old version. Whitepaper 2.8 (L01:
    the certificate is checked against the ManufacturerRootCertificate before the download,
    the signature over the downloaded file)."""
    await ready(t)
    old = running_version(t)
    await trust_manufacturer(t)
    name = await image(t)
    data = t.csms.ftp_server().firmware_path(name).read_bytes()

    unknown = manufacturer_ca(t.system.state.root / "scratch-pki" / "unknown-manufacturer")
    key, certificate = unknown.issue_signing_certificate("unknown firmware signer")
    mark = t.mark()
    answer = await operate(
        t, "SignedUpdateFirmware", firmware=firmware(t, name, certificate, sign_data(key, data))
    )
    status_is(t, "SignedUpdateFirmware signed by an unknown CA", answer, "InvalidCertificate")
    await expect_event(
        t,
        "InvalidFirmwareSigningCertificate",
        mark,
        why="after refusing a signing certificate from an unknown CA",
    )
    await t.expect_none(STATUS, {"status": "Downloading"}, during=5, since=mark)

    key, certificate = t.csms.firmware_signing()
    mark = t.mark()
    bad = sign_data(key, data + b"\n# not the file that was signed")
    answer = await operate(t, "SignedUpdateFirmware", firmware=firmware(t, name, certificate, bad))
    status_is(t, "SignedUpdateFirmware with a signature over other bytes", answer, "Accepted")
    request_id = request_id_of(t, mark)
    found = await t.expect_sequence(
        [
            (STATUS, {"status": "Downloading"}),
            (STATUS, {"status": "Downloaded"}),
            (STATUS, {"status": "InvalidSignature"}),
        ],
        within=DOWNLOAD_WITHIN + 30,
        since=mark,
    )
    same_request(t, found, request_id)
    await expect_event(
        t, "InvalidFirmwareSignature", mark, why="after a signature that does not verify"
    )
    await t.expect_none(
        STATUS,
        {"status": lambda s: s in ("SignatureVerified", "Installing", "Installed")},
        during=5,
        since=mark,
    )
    t.details["statuses"] = statuses(t, mark)
    t.check(
        not t.from_dut(mark, "BootNotification"),
        "the charger rebooted although the firmware's signature was invalid",
    )
    seen = await reboot(t)
    await seen.next(REBOOT_WITHIN, why="after the reset")
    now = running_version(t)
    t.check(
        now == old,
        f"after the refused update and a reset the charger runs {now!r}, not {old!r}",
    )
