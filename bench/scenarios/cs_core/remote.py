"""Remote actions, happy flow: TC_010, TC_011_1, TC_011_2, TC_012."""

from __future__ import annotations

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    authorize_remote,
    configure,
    idle,
    remote_start,
    start_remote,
    started,
    stop_remote,
    tolerance,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

CONNECTION_TIMEOUT_S = 10


@scenario("TC_010_CS", "Remote Start Charging Session - Cable Plugged in First")
async def tc_010(t: Handle) -> None:
    """Cable plugged in (Preparing), then RemoteStartTransaction for the connector:
    Accepted, Authorize if AuthorizeRemoteTxRequests is true, StartTransaction with the
    given idTag, Charging. OCPP 1.6 §5.11 RemoteStartTransaction, §9.1.3, §4.8."""
    await idle(t)
    await start_remote(t, 1, TAG)


@scenario("TC_011_1_CS", "Remote Start Charging Session - Remote Start First")
async def tc_011_1(t: Handle) -> None:
    """RemoteStartTransaction first: Accepted, Authorize if AuthorizeRemoteTxRequests is
    true, Preparing; then the cable is plugged in: StartTransaction, Charging.
    OCPP 1.6 §5.11, §4.8, §4.9 (A2)."""
    await idle(t)
    authorize = await authorize_remote(t)
    mark = t.mark()
    await remote_start(t, 1, TAG)
    if authorize:
        await t.expect("Authorize", {"idTag": TAG}, since=mark)
    await t.expect_status(1, "Preparing", since=mark)
    t.plug(1)
    await started(t, 1, TAG, mark)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario("TC_011_2_CS", "Remote Start Charging Session - Time Out")
async def tc_011_2(t: Handle) -> None:
    """ConnectionTimeOut set; RemoteStartTransaction Accepted, the connector goes to
    Preparing, but no cable is plugged in: after ConnectionTimeOut (-1..+10 s) it goes
    back to Available and no transaction starts. OCPP 1.6 §5.11, §9.1.6 ConnectionTimeOut
    (errata v4.0), §4.9 (B1)."""
    await idle(t)
    await configure(t, ConnectionTimeOut=str(CONNECTION_TIMEOUT_S))
    authorize = await authorize_remote(t)
    mark = t.mark()
    await remote_start(t, 1, TAG)
    if authorize:
        await t.expect("Authorize", {"idTag": TAG}, since=mark)
    preparing = await t.expect_status(1, "Preparing", since=mark)
    available = await t.expect_status(1, "Available", CONNECTION_TIMEOUT_S + 12, mark)
    waited = t.frame_of(available)["ts"] - t.frame_of(preparing)["ts"]
    t.check(
        CONNECTION_TIMEOUT_S - tolerance(t) <= waited <= CONNECTION_TIMEOUT_S + 10,
        f"Preparing -> Available took {waited:.1f} s; "
        f"ConnectionTimeOut is {CONNECTION_TIMEOUT_S} s",
        timing=True,
    )
    t.check(not t.from_dut(mark, "StartTransaction"), "a transaction started without a cable")


@scenario("TC_012_CS", "Remote Stop Charging Session")
async def tc_012(t: Handle) -> None:
    """A transaction is charging; RemoteStopTransaction with its transactionId: Accepted,
    StopTransaction reason Remote, Finishing; after unplugging, Available.
    OCPP 1.6 §5.12 RemoteStopTransaction, §4.10, §4.9 (C6)."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = t.mark()
    await stop_remote(t, tx)
    await t.expect_status(1, "Finishing", since=mark)
    late = t.mark()
    t.unplug(1)
    await t.expect_status(1, "Available", since=late)
