"""Firmware management: the Central System has a charge point update its firmware."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from ocpp.v16 import call

from bench.scenarios.csms_optional.steps import check_time, check_uri, ftp_download, optional_case
from bench.scenarios.csms_role import CsmsHandle

FIRMWARE_NAME = "bench-fw-2.0.bin"
FIRMWARE_IMAGE = b"BENCH-FW\x00" + hashlib.sha256(b"bench firmware 2.0").digest() * 64


async def update_requested(t: CsmsHandle) -> dict:
    """Booted; the operator updates the firmware: a well-formed UpdateFirmware.req.

    For our own CSMS the image is put into its firmware store first and the charge
    point really downloads it from the ftp:// location the CSMS built.
    """
    await t.booted()
    if t.operator.local:
        t.operator.provide_firmware(FIRMWARE_NAME, FIRMWARE_IMAGE)
    request, sent = await t.operated(
        t.operator.update_firmware(firmware=FIRMWARE_NAME), "UpdateFirmware"
    )
    location = check_uri(t, "UpdateFirmware.req location", sent.get("location"))
    check_time(t, "UpdateFirmware.req retrieveDate", sent.get("retrieveDate"))
    for key in ("retries", "retryInterval"):
        if key in sent:
            t.check(sent[key] >= 0, f"UpdateFirmware.req {key} is {sent[key]}")
    await t.outcome(request)
    t.details["location_scheme"] = urlsplit(location).scheme
    return sent


async def notify(t: CsmsHandle, *statuses: str) -> None:
    for status in statuses:
        t.expect_empty_conf(
            "FirmwareStatusNotification", await t.send(call.FirmwareStatusNotification(status))
        )


def check_rollout(t: CsmsHandle, status: str) -> None:
    """Our CSMS shows the charge point's rollout at ``status``."""
    if not t.operator.local:
        return
    rollout = [r for r in t.operator.csms.firmware_rollout(t.cp_id)]  # type: ignore[attr-defined]
    t.check(bool(rollout), "the CSMS shows no firmware rollout for the charge point")
    t.check(
        rollout[0]["status"] == status,
        f"the CSMS shows the firmware rollout at {rollout[0]['status']}, not {status}",
    )
    t.details["rollout_history"] = [h["status"] for h in rollout[0]["history"]]


@optional_case("TC_044_1_CSMS", "Firmware Update - Download and Install", "firmware")
async def tc_044_1_download_and_install(t: CsmsHandle) -> None:
    """UpdateFirmware, then Downloading, Downloaded, Installing, a reboot and Installed.

    The CSMS sends UpdateFirmware.req with an absolute location URI and a
    retrieveDate; every FirmwareStatusNotification is acknowledged, and after the
    reboot the BootNotification is accepted and the StatusNotifications and the final
    Installed are acknowledged.
    """
    sent = await update_requested(t)
    await notify(t, "Downloading")
    if sent["location"].lower().startswith("ftp://") and t.operator.local:
        image = await ftp_download(t, sent["location"])
        t.check(image == FIRMWARE_IMAGE, "the firmware downloaded from the CSMS is not the image")
        t.details["downloaded_bytes"] = len(image)
    await notify(t, "Downloaded", "Installing")
    boot = await t.reboot()
    t.details["boot_after_install"] = boot.get("status")
    for connector in range(t.connectors + 1):
        t.expect_empty_conf("StatusNotification", await t.status(connector, "Available"))
    await notify(t, "Installed")
    check_rollout(t, "Installed")


@optional_case("TC_044_2_CSMS", "Firmware Update - Download failed", "firmware")
async def tc_044_2_download_failed(t: CsmsHandle) -> None:
    """UpdateFirmware, then Downloading and DownloadFailed, both acknowledged."""
    await update_requested(t)
    await notify(t, "Downloading", "DownloadFailed")
    check_rollout(t, "DownloadFailed")


@optional_case("TC_044_3_CSMS", "Firmware Update - Installation failed", "firmware")
async def tc_044_3_installation_failed(t: CsmsHandle) -> None:
    """UpdateFirmware, then Downloading, Downloaded, Installing and InstallationFailed."""
    await update_requested(t)
    await notify(t, "Downloading", "Downloaded", "Installing", "InstallationFailed")
    check_rollout(t, "InstallationFailed")
