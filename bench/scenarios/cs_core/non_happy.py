"""Non-happy flows: basic actions (TC_023_4, TC_023_5, TC_024), remote actions
(TC_026, TC_027, TC_028) and unlocking (TC_030, TC_031)."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    BLOCKED,
    TAG,
    TAG_2,
    UNKNOWN,
    configure,
    connectors,
    idle,
    plug,
    remote_start,
    remote_stop,
    start_remote,
)
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

EXPIRED = "0A00E0E001"  # RDM6300 uids are 10 hex digits
NO_START_S = 5


@scenario("TC_023_4_CS", "Start local Charging Session - Authorize invalid", requires=("C-07",))
async def tc_023_4(t: Handle) -> None:
    """Cable plugged in; idTags the Central System answers Invalid, Blocked and Expired
    are presented in turn: each gets an Authorize, none starts a transaction.
    OCPP 1.6 §4.1 Authorize ("only when Accepted"), §7.2 AuthorizationStatus."""
    await idle(t)
    t.csms.add_id_tag(EXPIRED, "Expired")
    await plug(t, 1)
    mark = t.mark()
    for tag, status in ((UNKNOWN, "Invalid"), (BLOCKED, "Blocked"), (EXPIRED, "Expired")):
        step = t.mark()
        await t.tap(tag)
        auth = await t.expect("Authorize", {"idTag": tag}, since=step)
        answer = (await t.answer(auth)).get("idTagInfo", {})
        t.check(answer.get("status") == status, f"the bench answered {answer} for {tag}")
    await t.expect_none("StartTransaction", during=NO_START_S, since=mark)


@scenario("TC_023_5_CS", "Start remote Charging Session - Authorize invalid")
async def tc_023_5(t: Handle) -> None:
    """AuthorizeRemoteTxRequests true; cable plugged in; RemoteStartTransaction for an
    idTag the Central System does not know: the charger accepts the request, authorizes
    the idTag first (Authorize answered Invalid) and starts no transaction.
    OCPP 1.6 §5.11 RemoteStartTransaction, §9.1.3 AuthorizeRemoteTxRequests, §4.1."""
    await idle(t)
    await configure(t, AuthorizeRemoteTxRequests="true")
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 1, UNKNOWN)
    await t.expect("Authorize", {"idTag": UNKNOWN}, since=mark)
    await t.expect_none("StartTransaction", during=NO_START_S, since=mark)


@scenario("TC_024_CS", "Start Charging Session - Lock Failure", requires=("AQ-2",))
async def tc_024(t: Handle) -> None:
    """The cable lock fails when the driver plugs in after authorizing: the charger
    reports errorCode ConnectorLockFailure and starts no transaction. OCPP 1.6 §4.9,
    §7.6 ChargePointErrorCode ConnectorLockFailure. Needs a rig that can make the lock
    fail (PICS AQ-2: the charger has a cable lock)."""
    await idle(t)
    t.cable_lock_fault(1, "lock")
    mark = t.mark()
    await t.tap(TAG)
    await t.expect("Authorize", {"idTag": TAG}, since=mark)
    t.plug(1)
    await t.expect(
        "StatusNotification", {"connectorId": 1, "errorCode": "ConnectorLockFailure"}, 15, mark
    )
    await t.expect_none("StartTransaction", during=NO_START_S, since=mark)


@scenario("TC_026_CS", "Remote Start Charging Session - Rejected")
async def tc_026(t: Handle) -> None:
    """A transaction is charging on connector 1; RemoteStartTransaction for that same
    connector is Rejected and nothing starts. OCPP 1.6 §5.11 ("a status indicating
    whether it has accepted the request", errata)."""
    await idle(t)
    await start_remote(t, 1, TAG)
    mark = t.mark()
    await remote_start(t, 1, TAG_2, expect="Rejected")
    await t.expect_none("StartTransaction", during=3, since=mark)


@scenario("TC_027_CS", "Remote start transaction - connector id shall not be 0")
async def tc_027(t: Handle) -> None:
    """RemoteStartTransaction with connectorId 0 is Rejected (connector 0 is the charge
    point as a whole, never a transaction's connector) and nothing starts.
    OCPP 1.6 §5.11, §6.33 RemoteStartTransaction.req ("connectorId SHALL be > 0")."""
    await idle(t)
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 0, TAG, expect="Rejected")
    await t.expect_none("StartTransaction", during=3, since=mark)


@scenario("TC_028_CS", "Remote Stop Transaction - Rejected")
async def tc_028(t: Handle) -> None:
    """A transaction is charging; RemoteStopTransaction with a transactionId the charger
    does not have is Rejected and the running transaction is not stopped.
    OCPP 1.6 §5.12 RemoteStopTransaction (as amended by the errata)."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    mark = t.mark()
    await remote_stop(t, tx.transaction_id + 487249487, expect="Rejected")
    await t.expect_none("StopTransaction", during=3, since=mark)


@scenario("TC_030_CS", "Unlock Connector - Unlock Failure", requires=("HFS-1",))
async def tc_030(t: Handle) -> None:
    """The cable lock fails to open: UnlockConnector is answered UnlockFailed.
    OCPP 1.6 §5.18 UnlockConnector, §7.46 UnlockStatus UnlockFailed (errata v3.0).
    Needs a rig that can make the unlock fail."""
    await idle(t)
    t.cable_lock_fault(1, "unlock")
    answer = await t.call(call.UnlockConnector(connector_id=1))
    t.check(answer.get("status") == "UnlockFailed", f"UnlockConnector answered {answer}")


@scenario("TC_031_CS", "Unlock Connector - Unknown Connector")
async def tc_031(t: Handle) -> None:
    """UnlockConnector for a connectorId the charger does not have is answered
    NotSupported. OCPP 1.6 §5.18, §7.46 UnlockStatus (errata v3.0: "NotSupported:
    ... or ConnectorId is unknown")."""
    await idle(t)
    unknown = max(connectors(t)) + 1
    answer = await t.call(call.UnlockConnector(connector_id=unknown))
    t.check(
        answer.get("status") == "NotSupported",
        f"UnlockConnector({unknown}) answered {answer.get('status')}, not NotSupported",
    )
