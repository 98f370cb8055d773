"""What the optional-profile ``_CSMS`` cases share: registration, URIs, FTP, profiles."""

from __future__ import annotations

import asyncio
import ftplib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bench.scenarios.csms_core.steps import check_status
from bench.scenarios.csms_role import CsmsHandle, OperatorRequest, parse_ocpp_time
from bench.scenarios.ftp_client import download, upload
from bench.scenarios.handle import ScenarioFailed
from bench.scenarios.registry import scenario

__all__ = ["check_status", "optional_case"]

#: The PICS item each bench profile needs (diagnostics belong to FirmwareManagement).
PICS_ITEM = {
    "local-list": "profile.local-list",
    "firmware": "profile.firmware",
    "diagnostics": "profile.firmware",
    "reservation": "profile.reservation",
    "trigger": "profile.trigger",
    "smart-charging": "profile.smart-charging",
}
#: URI schemes a charge point can fetch firmware from or upload diagnostics to.
TRANSFER_SCHEMES = ("ftp", "ftps", "sftp", "http", "https")


def optional_case(id: str, title: str, profile: str, timeout_s: float = 180.0) -> Callable:
    """Register a case of an optional profile for the ``csms`` role."""
    return scenario(
        id,
        title,
        role="csms",
        profile=profile,
        requires=(PICS_ITEM[profile],),
        timeout_s=timeout_s,
    )


async def reported(t: CsmsHandle, request: OperatorRequest, what: str, expected: Any) -> Any:
    """Where the DUT reports the charge point's answer, it reports ``expected`` status."""
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, f"the CSMS reported {what}", outcome.get("status"), expected)
    return outcome


def check_uri(t: CsmsHandle, what: str, value: Any) -> str:
    """``value`` is an absolute URI a charge point can transfer a file with."""
    t.check(isinstance(value, str) and bool(value), f"{what} is missing")
    parts = urlsplit(value)
    t.check(
        parts.scheme.lower() in TRANSFER_SCHEMES and bool(parts.netloc),
        f"{what} {value!r} is not an absolute {'/'.join(TRANSFER_SCHEMES)} URI",
    )
    return value


def check_time(t: CsmsHandle, what: str, value: Any) -> None:
    t.check(parse_ocpp_time(value) is not None, f"{what} {value!r} is not an OCPP date-time")


async def ftp_download(t: CsmsHandle, location: str) -> bytes:
    """The charge point fetches the firmware (only ftp:// locations are fetched)."""
    t.step(f"charge point downloads {_safe(location)}")
    try:
        return await asyncio.to_thread(download, location)
    except (OSError, ftplib.Error) as exc:
        raise ScenarioFailed(f"downloading {_safe(location)} failed: {exc}") from None


async def ftp_upload(t: CsmsHandle, location: str, name: str, data: bytes) -> None:
    t.step(f"charge point uploads {name} to {_safe(location)}")
    try:
        await asyncio.to_thread(upload, location, name, data)
    except (OSError, ftplib.Error) as exc:
        raise ScenarioFailed(f"uploading {name} to {_safe(location)} failed: {exc}") from None


def _safe(location: str) -> str:
    parts = urlsplit(location)
    if parts.password:
        return location.replace(f":{parts.password}@", ":***@")
    return location


async def wait_answered(t: CsmsHandle, action: str, since: int, within: float = 10.0) -> dict:
    """The CSMS's CALLRESULT to the charge point's ``action`` sent after ``since``."""
    deadline = asyncio.get_running_loop().time() + t.clock.wall(within)
    while True:
        for frame in t.bench.trace[since:]:
            if (
                frame["sender"] == "dut"
                and frame["action"] == action
                and frame["message_type"] != 2
            ):
                if frame["message_type"] != 3:
                    raise ScenarioFailed(
                        f"the CSMS answered {action} with CALLERROR {frame['payload']}"
                    )
                return frame["payload"]
        if asyncio.get_running_loop().time() > deadline:
            raise ScenarioFailed(f"the CSMS did not answer the charge point's {action}")
        await t.bench.trace_changed(0.2)


def profile(
    profile_id: int,
    purpose: str = "TxDefaultProfile",
    kind: str = "Relative",
    stack_level: int = 0,
    limits: tuple[tuple[int, float], ...] = ((0, 16.0),),
    unit: str = "A",
    **extra: Any,
) -> dict[str, Any]:
    """A ChargingProfile (wire form) for the cases."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": float(v)} for s, v in limits],
    }
    for key in ("duration", "startSchedule"):
        if key in extra:
            schedule[key] = extra.pop(key)
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
        **extra,
    }
