"""The security log: the Central System has the charge point upload it (GetLog)."""

from __future__ import annotations

from bench.scenarios.csms_optional.steps import check_time, check_uri
from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.csms_security.steps import (
    answered,
    check_status,
    local_dut,
    security_case,
)


@security_case("TC_079_CSMS", "Get Security Log")
async def tc_079_get_security_log(t: CsmsHandle) -> None:
    """GetLog.req SecurityLog with a requestId and a remoteLocation; the charge point
    answers Accepted with a file name, uploads its security log there and sends
    LogStatusNotification Uploading, then Uploaded (with that requestId): both
    acknowledged. Ours: the file arrives in the CSMS's upload area and the request shows
    Uploaded."""
    await t.booted()
    t.cp.security.note("security log entry for TC_079")
    since = t.mark()
    request, sent = await t.operated(
        t.operator.get_log("SecurityLog"), "GetLog", {"logType": "SecurityLog"}
    )
    request_id = sent.get("requestId")
    t.check(isinstance(request_id, int), f"GetLog.req requestId {request_id!r} is not an integer")
    log = sent.get("log") or {}
    location = check_uri(t, "GetLog.req log.remoteLocation", log.get("remoteLocation"))
    for key in ("oldestTimestamp", "latestTimestamp"):
        if key in log:
            check_time(t, f"GetLog.req log.{key}", log[key])
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported GetLog", outcome.get("status"), "Accepted")
    for status in ("Uploading", "Uploaded"):
        answer = await answered(
            t, "LogStatusNotification", {"status": status, "requestId": request_id}, since
        )
        t.expect_empty_conf("LogStatusNotification", answer)
    dut = local_dut(t)
    if dut is not None and location.lower().startswith("ftp://"):
        name = f"securitylog-{request_id}.log"
        files = {f["name"]: f for f in dut.diagnostics_files()}
        t.check(name in files, f"the security log did not arrive: {sorted(files)}")
        rows = [r for r in dut.security_overview(t.cp_id)["log_requests"]]
        t.check(
            bool(rows) and rows[-1]["status"] == "Uploaded" and rows[-1]["file_name"] == name,
            f"the CSMS shows the GetLog request as {rows[-1:] or 'missing'}",
        )
        t.check("***" in rows[-1]["location"], "the CSMS keeps the FTP password in clear")
