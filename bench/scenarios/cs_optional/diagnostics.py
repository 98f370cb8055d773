"""Firmware Management, diagnostics: TC_045_1, TC_045_2.

``t.diagnostics_location(ok)`` gives an ftp:// directory the charger uploads to: one
that takes the file (ok=True) or one that refuses it (ok=False).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import connectors, idle
from bench.scenarios.cs_optional.steps import resolved
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

PROFILE = "profile.firmware"  # GetDiagnostics belongs to the Firmware Management profile
UPLOAD_WITHIN = 60.0


async def get_diagnostics(t: Handle, ok: bool, **options: int) -> tuple[str, str | None, int]:
    location = await resolved(t.diagnostics_location(ok))
    t.details["location"] = location.split("@")[-1]
    mark = t.mark()
    answer = await t.call(call.GetDiagnostics(location=location, **options))
    return location, answer.get("fileName"), mark


def dsn(t: Handle, since: int) -> list[str]:
    return [f["payload"].get("status") for f in t.from_dut(since, "DiagnosticsStatusNotification")]


@scenario("TC_045_1_CS", "Get Diagnostics", profile="diagnostics", requires=(PROFILE,))
async def tc_045_1(t: Handle) -> None:
    """GetDiagnostics with an ftp:// location that accepts uploads: the answer names the
    file (fileName), the charger reports DiagnosticsStatusNotification Uploading then
    Uploaded, never UploadFailed, and - where the location is the bench's own FTP
    server - that file is there, not empty. OCPP 1.6 §5.9 GetDiagnostics, §4.4
    DiagnosticsStatusNotification, §8.2 Upload Diagnostics."""
    await idle(t)
    location, file_name, mark = await get_diagnostics(t, True)
    t.check(
        bool(file_name),
        "GetDiagnostics.conf has no fileName: the charger says it has no diagnostic information",
    )
    await t.expect_sequence(
        [
            ("DiagnosticsStatusNotification", {"status": "Uploading"}),
            ("DiagnosticsStatusNotification", {"status": "Uploaded"}),
        ],
        within=UPLOAD_WITHIN,
        since=mark,
    )
    t.details["statuses"] = dsn(t, mark)
    t.check("UploadFailed" not in dsn(t, mark), f"the charger also reported {dsn(t, mark)}")
    ftp = t.csms.ftp
    if ftp is not None and urlsplit(location).port == ftp.port:
        files = {f["name"]: f for f in t.csms.diagnostics_files()}
        t.details["uploaded"] = sorted(files)
        t.check(
            file_name in files,
            f"the charger reported Uploaded, but {file_name!r} is not on the FTP server "
            f"(it has {sorted(files) or 'nothing'})",
        )
        t.check(files[file_name]["size"] > 0, f"the uploaded {file_name!r} is empty")
    else:
        t.details["uploaded"] = "location is not the bench's FTP server: file not checked"


@scenario(
    "TC_045_2_CS", "Get Diagnostics - Upload Failed", profile="diagnostics", requires=(PROFILE,)
)
async def tc_045_2(t: Handle) -> None:
    """GetDiagnostics (retries 1, retryInterval 5 s) with an ftp:// location that refuses
    the upload: the charger reports Uploading and, once it gives up, UploadFailed - never
    Uploaded - and carries on: its connectors stay Available. OCPP 1.6 §5.9, §4.4,
    §7.23 DiagnosticsStatus."""
    await idle(t)
    _, _, mark = await get_diagnostics(t, False, retries=1, retry_interval=5)
    await t.expect_sequence(
        [
            ("DiagnosticsStatusNotification", {"status": "Uploading"}),
            ("DiagnosticsStatusNotification", {"status": "UploadFailed"}),
        ],
        within=UPLOAD_WITHIN,
        since=mark,
    )
    t.details["statuses"] = dsn(t, mark)
    t.check("Uploaded" not in dsn(t, mark), f"the charger reported {dsn(t, mark)}")
    for connector in connectors(t):
        seen = t.statuses(connector, mark)
        t.check(
            not seen or seen[-1] == "Available",
            f"connector {connector} went {' -> '.join(seen)} after the failed upload",
        )
