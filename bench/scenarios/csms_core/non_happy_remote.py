"""Non-happy remote: the Central System handles a charge point refusing remote start/stop."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1
#: How far above the running transaction's id the "unknown" one the operator enters lies.
UNKNOWN_OFFSET = 100_000


@core_case("TC_026_CSMS", "Remote Start Charging Session - Rejected")
async def tc_026_remote_start_rejected(t: CsmsHandle) -> None:
    """The charge point rejects a remote start; the CSMS takes the Rejected answer.

    The operator's remote start makes the CSMS send RemoteStartTransaction.req (valid
    idTag); the charge point answers Rejected; where the DUT reports back, it reports
    Rejected, and it does not repeat the request on its own.
    """
    await t.booted()
    t.answer("RemoteStartTransaction", {"status": "Rejected"})
    request, sent = await t.operated(
        t.operator.remote_start(t.tags.valid, CONNECTOR),
        "RemoteStartTransaction",
        {"idTag": t.tags.valid},
    )
    since = t.mark()
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(
            t, "the CSMS reported RemoteStartTransaction", outcome.get("status"), "Rejected"
        )
    await t.expect_none("RemoteStartTransaction", during=5, since=since)
    t.details["request"] = sent


@core_case("TC_028_CSMS", "Remote Stop Transaction - Rejected")
async def tc_028_remote_stop_rejected(t: CsmsHandle) -> None:
    """A remote stop for a transactionId the charge point does not know is rejected by it.

    During a transaction the operator asks to stop an unknown transactionId; the CSMS
    must forward RemoteStopTransaction.req with that id to the charge point (certified
    Central Systems do not refuse it themselves), which answers Rejected; where the DUT
    reports back, it reports Rejected. The running transaction is not touched.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    unknown = tx + UNKNOWN_OFFSET
    request, _ = await t.operated(
        t.operator.remote_stop(unknown), "RemoteStopTransaction", {"transactionId": unknown}
    )
    since = t.mark()
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(
            t, "the CSMS reported RemoteStopTransaction", outcome.get("status"), "Rejected"
        )
    await t.expect_none("RemoteStopTransaction", {"transactionId": tx}, during=2, since=since)
    t.details["unknown_transaction_id"] = unknown
