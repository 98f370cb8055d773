"""Diagnostics: the Central System has a charge point upload its diagnostics."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.csms_optional.steps import check_time, check_uri, ftp_upload, optional_case
from bench.scenarios.csms_role import CsmsHandle

FILE_NAME = "bench-diagnostics.log"
CONTENT = b"2024-01-01T00:00:00Z bench charge point diagnostics\n" * 20


async def diagnostics_requested(t: CsmsHandle) -> dict:
    """Booted; the operator asks for diagnostics: GetDiagnostics.req with a location URI."""
    await t.booted()
    t.answer("GetDiagnostics", {"fileName": FILE_NAME})
    request, sent = await t.operated(t.operator.get_diagnostics(), "GetDiagnostics")
    check_uri(t, "GetDiagnostics.req location", sent.get("location"))
    for key in ("startTime", "stopTime"):
        if key in sent:
            check_time(t, f"GetDiagnostics.req {key}", sent[key])
    outcome = await t.outcome(request)
    if outcome is not None:
        t.check(
            outcome.get("fileName") == FILE_NAME,
            f"the CSMS reported fileName {outcome.get('fileName')!r}, the charge point "
            f"answered {FILE_NAME}",
        )
    return sent


async def notify(t: CsmsHandle, *statuses: str) -> None:
    for status in statuses:
        t.expect_empty_conf(
            "DiagnosticsStatusNotification",
            await t.send(call.DiagnosticsStatusNotification(status)),
        )


def check_request(t: CsmsHandle, status: str) -> None:
    if not t.operator.local:
        return
    rows = t.operator.csms.store.diagnostics_requests(t.cp_id)  # type: ignore[attr-defined]
    t.check(bool(rows), "the CSMS has no record of its GetDiagnostics")
    t.check(
        rows[-1]["status"] == status and rows[-1]["file_name"] == FILE_NAME,
        f"the CSMS shows the diagnostics request as {rows[-1]['status']} "
        f"({rows[-1]['file_name']}), not {status} ({FILE_NAME})",
    )


@optional_case("TC_045_1_CSMS", "Get Diagnostics", "diagnostics")
async def tc_045_1_get_diagnostics(t: CsmsHandle) -> None:
    """GetDiagnostics, then Uploading and Uploaded, both acknowledged.

    For our own CSMS the charge point really uploads the file to the ftp:// location
    the CSMS gave, and the file must arrive in the CSMS's upload area.
    """
    sent = await diagnostics_requested(t)
    await notify(t, "Uploading")
    if t.operator.local and sent["location"].lower().startswith("ftp://"):
        await ftp_upload(t, sent["location"], FILE_NAME, CONTENT)
        files = {f["name"]: f for f in t.operator.csms.diagnostics_files()}  # type: ignore[attr-defined]
        t.check(
            FILE_NAME in files and files[FILE_NAME]["size"] == len(CONTENT),
            f"the upload did not arrive in the CSMS's diagnostics area: {sorted(files)}",
        )
    await notify(t, "Uploaded")
    check_request(t, "Uploaded")


@optional_case("TC_045_2_CSMS", "Get Diagnostics - Upload failed", "diagnostics")
async def tc_045_2_upload_failed(t: CsmsHandle) -> None:
    """GetDiagnostics, then Uploading and UploadFailed, both acknowledged."""
    await diagnostics_requested(t)
    await notify(t, "Uploading", "UploadFailed")
    check_request(t, "UploadFailed")
