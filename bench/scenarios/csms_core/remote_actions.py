"""Remote actions: the Central System starts and stops transactions on the operator's request."""

from __future__ import annotations

from typing import Any

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1


def check_remote_start(t: CsmsHandle, request: dict[str, Any], connector: int | None) -> None:
    """RemoteStartTransaction.req carries the idTag (and connector) the operator chose."""
    t.check(
        request.get("idTag") == t.tags.valid,
        f"the CSMS's RemoteStartTransaction has idTag {request.get('idTag')!r}, "
        f"the operator asked for {t.tags.valid}",
    )
    if connector is not None and "connectorId" in request:
        t.check(
            request["connectorId"] == connector,
            f"the CSMS's RemoteStartTransaction is for connector {request['connectorId']}, "
            f"the operator asked for {connector}",
        )


async def remote_start(t: CsmsHandle, connector: int | None = CONNECTOR) -> dict[str, Any]:
    request, sent = await t.operated(
        t.operator.remote_start(t.tags.valid, connector), "RemoteStartTransaction"
    )
    check_remote_start(t, sent, connector)
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(
            t, "the CSMS reported RemoteStartTransaction", outcome.get("status"), "Accepted"
        )
    return sent


@core_case("TC_010_CSMS", "Remote Start Charging Session - Cable Plugged in First")
async def tc_010_remote_start_cable_first(t: CsmsHandle) -> None:
    """Cable in, then a remote start: the CSMS sends RemoteStartTransaction and accepts the session.

    After Preparing, the operator's remote start makes the CSMS send
    RemoteStartTransaction.req with the valid idTag (and connector 1 if it names one);
    the charge point accepts; Authorize and StartTransaction are answered Accepted with
    a transactionId; Charging is acknowledged.
    """
    await t.booted()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    await remote_start(t)
    await t.authorized()
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case("TC_011_1_CSMS", "Remote Start Charging Session - Remote Start First")
async def tc_011_1_remote_start_first(t: CsmsHandle) -> None:
    """A remote start before the cable is plugged in.

    The operator's remote start makes the CSMS send RemoteStartTransaction.req with the
    valid idTag; the charge point accepts; Authorize is Accepted; Preparing is
    acknowledged; after plug-in StartTransaction gets a transactionId with idTagInfo
    Accepted; Charging is acknowledged.
    """
    await t.booted()
    await remote_start(t)
    await t.authorized()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    start = await t.start_transaction(CONNECTOR, t.tags.valid)
    t.expect_id_tag_status("StartTransaction", t.tags.valid, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Charging"))


@core_case("TC_011_2_CSMS", "Remote Start Charging Session - Time Out")
async def tc_011_2_remote_start_timeout(t: CsmsHandle) -> None:
    """A remote start whose cable never comes: the connector returns to Available.

    RemoteStartTransaction.req (valid idTag) is accepted; Authorize is Accepted;
    Preparing and, after the charge point's ConnectionTimeOut, Available are
    acknowledged; no transaction is started.
    """
    await t.booted()
    await remote_start(t)
    await t.authorized()
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    await t.sleep(t.cp.config.int("ConnectionTimeOut", 10))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))


@core_case("TC_012_CSMS", "Remote Stop Charging Session")
async def tc_012_remote_stop(t: CsmsHandle) -> None:
    """The operator stops a running transaction remotely.

    From Charging, the operator's remote stop makes the CSMS send
    RemoteStopTransaction.req for that transactionId; the charge point accepts, sends
    StopTransaction (reason Remote), which is answered, and Finishing and Available
    are acknowledged.
    """
    await t.booted()
    tx = await t.charging(CONNECTOR)
    request, _ = await t.operated(
        t.operator.remote_stop(tx), "RemoteStopTransaction", {"transactionId": tx}
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(
            t, "the CSMS reported RemoteStopTransaction", outcome.get("status"), "Accepted"
        )
    stop = await t.stop_transaction(tx, "Remote", id_tag=t.tags.valid)
    if "idTagInfo" in stop:
        t.expect_id_tag_status("StopTransaction", t.tags.valid, stop["idTagInfo"], "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Finishing"))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
