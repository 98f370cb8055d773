"""Signed firmware: the Central System sends SignedUpdateFirmware with a signing
certificate and a signature the charge point verifies over the downloaded file."""

from __future__ import annotations

import asyncio

from bench.scenarios.csms_optional.steps import check_time, check_uri
from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.csms_security.certificates import install
from bench.scenarios.csms_security.steps import (
    MF_ROOT,
    answered,
    b64,
    certificates,
    check_status,
    event_answered,
    local_dut,
    security_case,
)
from charger.protocol.frames import CALL

FIRMWARE_NAME = "bench-signed-fw-2.0.bin"
FIRMWARE = b"OCPP bench signed firmware image 2.0\n" * 512
INSTALLED = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")
INVALID = ("Downloading", "Downloaded", "InvalidSignature")
FINAL = ("Installed", "InvalidSignature", "DownloadFailed", "InstallationFailed")


async def signed_update(t: CsmsHandle) -> tuple[int, dict]:
    """ManufacturerRootCertificate installed; SignedUpdateFirmware of the image the
    operator provides; the request's fields checked; returns (requestId, firmware)."""
    await t.booted()
    await install(t, MF_ROOT)
    t.operator.provide_firmware(FIRMWARE_NAME, FIRMWARE)
    request, sent = await t.operated(
        t.operator.signed_update_firmware(FIRMWARE_NAME), "SignedUpdateFirmware"
    )
    request_id = sent.get("requestId")
    t.check(isinstance(request_id, int), f"SignedUpdateFirmware requestId {request_id!r}")
    firmware = sent.get("firmware") or {}
    check_uri(t, "SignedUpdateFirmware.req firmware.location", firmware.get("location"))
    check_time(t, "firmware.retrieveDateTime", firmware.get("retrieveDateTime"))
    certificates(t, "firmware.signingCertificate", firmware.get("signingCertificate"))
    t.check(len(b64(t, "firmware.signature", firmware.get("signature"))) >= 64, "short signature")
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported SignedUpdateFirmware", outcome.get("status"), "Accepted")
    return request_id, firmware


async def statuses(t: CsmsHandle, request_id: int, sequence: tuple[str, ...], since: int) -> None:
    """The charge point reported ``sequence`` (its verdict on what the CSMS sent) and the
    CSMS acknowledged every one of them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + t.clock.wall(60)
    while True:
        sent = [
            f["payload"].get("status")
            for f in t.bench.trace[since:]
            if f["sender"] == "bench"
            and f["message_type"] == CALL
            and f["action"] == "SignedFirmwareStatusNotification"
        ]
        if sent and sent[-1] in FINAL or loop.time() > deadline:
            break
        await t.bench.trace_changed(0.2)
    t.check(
        sent == list(sequence),
        f"the charge point reported {sent} for the update, not {list(sequence)}"
        + (f" ({t.cp.security.security_log[-1]})" if t.cp.security.security_log else ""),
    )
    for status in sequence:
        answer = await answered(
            t,
            "SignedFirmwareStatusNotification",
            {"status": status, "requestId": request_id},
            since,
        )
        t.expect_empty_conf("SignedFirmwareStatusNotification", answer)


def check_shown(t: CsmsHandle, request_id: int, status: str) -> None:
    dut = local_dut(t)
    if dut is None:
        return
    rows = [r for r in dut.security_overview(t.cp_id)["signed_firmware"]]
    row = next((r for r in rows if r["request_id"] == request_id), None)
    t.check(
        row is not None and row["status"] == status,
        f"the CSMS shows the signed update as {row and row['status']}, not {status}",
    )


@security_case("TC_080_CSMS", "Secure Firmware Update")
async def tc_080_secure_firmware_update(t: CsmsHandle) -> None:
    """SignedUpdateFirmware with a signing certificate that chains to the installed
    ManufacturerRootCertificate and the signature of the image: the charge point
    downloads it, verifies the signature over the file and reports Downloading,
    Downloaded, SignatureVerified, Installing, Installed and a FirmwareUpdated event,
    each acknowledged."""
    since = t.mark()
    request_id, _ = await signed_update(t)
    await statuses(t, request_id, INSTALLED, since)
    await event_answered(t, "FirmwareUpdated", since)
    t.check(t.cp.security.firmware == FIRMWARE, "the charge point installed another image")
    check_shown(t, request_id, "Installed")


@security_case("TC_081_CSMS", "Secure Firmware Update - Invalid Signature")
async def tc_081_invalid_signature(t: CsmsHandle) -> None:
    """The image arrives altered: the signature does not verify; the charge point reports
    Downloading, Downloaded, InvalidSignature and an InvalidFirmwareSignature event,
    each acknowledged; the CSMS shows the update as InvalidSignature."""
    t.cp.security.corrupt_download = True
    since = t.mark()
    request_id, _ = await signed_update(t)
    await statuses(t, request_id, INVALID, since)
    await event_answered(t, "InvalidFirmwareSignature", since)
    t.check(t.cp.security.firmware is None, "the altered image was installed")
    check_shown(t, request_id, "InvalidSignature")
