"""Firmware Management, firmware update: TC_044_1, TC_044_2, TC_044_3.

The bench's Central System serves the images over FTP: ``t.firmware_location(kind)``
gives the ftp:// URL of a "good" image, a "missing" one (the download fails) and a
"broken" one (it downloads, but its installation fails).
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import REBOOT_WITHIN, connectors, idle
from bench.scenarios.cs_optional.steps import at, request, resolved
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

PROFILE = "profile.firmware"
DOWNLOAD_WITHIN = 60.0
INSTALL_WITHIN = 120.0
FAILED = ("DownloadFailed", "InstallationFailed")


def firmware_version(boot: dict[str, Any]) -> str | None:
    return boot.get("firmwareVersion")


def running_version(t: Handle) -> str | None:
    """The firmwareVersion of the charger's latest BootNotification."""
    boots = t.from_dut(0, "BootNotification")
    t.check(bool(boots), "the charger never sent a BootNotification")
    return firmware_version(boots[-1]["payload"])


def statuses(t: Handle, since: int) -> list[str]:
    return [f["payload"].get("status") for f in t.from_dut(since, "FirmwareStatusNotification")]


async def update(t: Handle, kind: str, retries: int | None = None) -> int:
    """UpdateFirmware with the bench's ``kind`` image, retrieveDate now; returns the mark."""
    location = await resolved(t.firmware_location(kind))
    t.details["location"] = location.split("@")[-1]
    mark = t.mark()
    answer = await t.call(
        call.UpdateFirmware(location=location, retrieve_date=at(t), retries=retries)
    )
    t.check(answer == {}, f"UpdateFirmware.conf is not empty: {answer}")
    return mark


async def back_to_available(t: Handle, within: float = 30.0) -> None:
    """Every connector's latest reported status is Available again (a charger MAY make
    them Unavailable while it updates)."""

    def last(connector: int) -> str | None:
        seen = t.statuses(connector)
        return seen[-1] if seen else None

    try:
        await t.wait_until(
            "every connector Available",
            lambda: all(last(c) == "Available" for c in connectors(t)),
            within,
        )
    except ScenarioFailed:
        now = ", ".join(f"connector {c} {last(c)}" for c in connectors(t))
        raise ScenarioFailed(
            f"after the firmware update the connectors are not Available: {now}"
        ) from None


async def old_version_boots(t: Handle, old: str | None) -> None:
    """A Soft reset after the failed update: the charger boots the version it ran before."""
    mark = t.mark()
    await request(t, call.Reset(type="Soft"), ("Accepted",))
    boot = await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    t.check(
        firmware_version(boot) == old,
        f"after the failed update and a reset the charger boots firmwareVersion "
        f"{firmware_version(boot)!r}, not the version it ran before ({old!r})",
    )


@scenario(
    "TC_044_1_CS",
    "Firmware Update - Download and Install",
    profile="firmware",
    requires=(PROFILE,),
    timeout_s=400,
)
async def tc_044_1(t: Handle) -> None:
    """UpdateFirmware with the location of a valid image on the bench's FTP server and
    retrieveDate now: the charger reports FirmwareStatusNotification Downloading,
    Downloaded and Installing in that order, reboots into the new firmware - its
    BootNotification reports a firmwareVersion other than the one before - and then
    reports Installed; its connectors end Available. OCPP 1.6 §5.19 UpdateFirmware, §4.5
    FirmwareStatusNotification, §8.1 Download Firmware."""
    await idle(t)
    old = running_version(t)
    mark = await update(t, "good")
    found = await t.expect_sequence(
        [
            ("FirmwareStatusNotification", {"status": "Downloading"}),
            ("FirmwareStatusNotification", {"status": "Downloaded"}),
            ("FirmwareStatusNotification", {"status": "Installing"}),
        ],
        within=DOWNLOAD_WITHIN + INSTALL_WITHIN,
        since=mark,
    )
    failed = [s for s in statuses(t, mark) if s in FAILED]
    t.check(not failed, f"the update failed: FirmwareStatusNotification {failed}")
    installing = t.index_of(found[-1])
    boot = await t.expect("BootNotification", within=INSTALL_WITHIN, since=installing)
    new = firmware_version(boot)
    t.details["firmware"] = {"before": old, "after": new}
    t.check(
        new is not None and new != old,
        f"after installing, the charger booted firmwareVersion {new!r}, the same as before",
    )
    early = [s for s in statuses(t, installing) if s == "Installed"]
    rebooted = t.index_of(boot)
    if early and not [s for s in statuses(t, rebooted) if s == "Installed"]:
        raise ScenarioFailed(
            "the charger reported Installed before it rebooted into the new firmware"
        )
    await t.expect("FirmwareStatusNotification", {"status": "Installed"}, within=60, since=rebooted)
    failed = [s for s in statuses(t, mark) if s in FAILED]
    t.check(not failed, f"the update reported {failed} as well as Installed")
    await back_to_available(t)


@scenario(
    "TC_044_2_CS",
    "Firmware Update - Download Failed",
    profile="firmware",
    requires=(PROFILE,),
    timeout_s=300,
)
async def tc_044_2(t: Handle) -> None:
    """UpdateFirmware (retries 0) with the location of an image the server does not have:
    the charger reports DownloadFailed (after an optional Downloading) and nothing of an
    installation; the old firmware stays - a reset boots the same firmwareVersion - and
    the connectors end Available. OCPP 1.6 §5.19, §4.5, §7.26 FirmwareStatus."""
    await idle(t)
    old = running_version(t)
    mark = await update(t, "missing", retries=0)
    await t.expect(
        "FirmwareStatusNotification", {"status": "DownloadFailed"}, DOWNLOAD_WITHIN, mark
    )
    seen = statuses(t, mark)
    t.details["statuses"] = seen
    t.check(
        seen[: seen.index("DownloadFailed")] in ([], ["Downloading"]),
        f"FirmwareStatusNotification {seen}: expected (Downloading,) DownloadFailed",
    )
    await t.expect_none(
        "FirmwareStatusNotification",
        {"status": lambda s: s in ("Downloaded", "Installing", "Installed")},
        during=5,
        since=mark,
    )
    t.check(
        not t.from_dut(mark, "BootNotification"),
        "the charger rebooted although the download failed",
    )
    await back_to_available(t)
    await old_version_boots(t, old)


@scenario(
    "TC_044_3_CS",
    "Firmware Update - Installation Failed",
    profile="firmware",
    requires=(PROFILE,),
    timeout_s=400,
)
async def tc_044_3(t: Handle) -> None:
    """UpdateFirmware with the location of an image that downloads but cannot be
    installed (the bench's broken image): Downloading, Downloaded, Installing, then
    InstallationFailed, never Installed; a reboot on the way, if any, comes back with the
    old firmwareVersion, and a reset afterwards boots the old version too; the connectors
    end Available. OCPP 1.6 §5.19, §4.5, §7.26 FirmwareStatus."""
    await idle(t)
    old = running_version(t)
    mark = await update(t, "broken")
    await t.expect_sequence(
        [
            ("FirmwareStatusNotification", {"status": "Downloading"}),
            ("FirmwareStatusNotification", {"status": "Downloaded"}),
            ("FirmwareStatusNotification", {"status": "Installing"}),
            ("FirmwareStatusNotification", {"status": "InstallationFailed"}),
        ],
        within=DOWNLOAD_WITHIN + INSTALL_WITHIN,
        since=mark,
    )
    t.details["statuses"] = statuses(t, mark)
    t.check(
        "Installed" not in statuses(t, mark),
        f"the charger reported Installed for a broken image: {statuses(t, mark)}",
    )
    for boot in t.from_dut(mark, "BootNotification"):
        t.check(
            firmware_version(boot["payload"]) == old,
            f"the charger rebooted into firmwareVersion {firmware_version(boot['payload'])!r} "
            f"from a broken image (it ran {old!r})",
        )
    await back_to_available(t)
    await old_version_boots(t, old)
