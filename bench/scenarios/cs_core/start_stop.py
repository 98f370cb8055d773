"""Start and stop a charging session: TC_003, TC_004_1, TC_004_2, TC_005_1..3, TC_068, TC_069."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    TAG_2,
    Tx,
    authorize_remote,
    authorizes_of,
    configure,
    idle,
    plug,
    remote_stop,
    start_remote,
    started,
    stopped,
    tolerance,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

CONNECTION_TIMEOUT_S = 10


@scenario("TC_003_CS", "Regular Charging Session - Plugin First", requires=("C-07",))
async def tc_003(t: Handle) -> None:
    """Plug in first, then present a valid idTag: StatusNotification Preparing, Authorize
    (Accepted), StartTransaction with that idTag and the meter register as meterStart,
    StatusNotification Charging, in that order. OCPP 1.6 §4.1 Authorize, §4.8
    StartTransaction, §4.9 StatusNotification (transitions A2, B3)."""
    await idle(t)
    before = round(t.rig.meter_wh(1))
    mark = t.mark()
    t.plug(1)
    await t.expect_status(1, "Preparing", since=mark)
    await t.tap(TAG)
    found = await t.expect_sequence(
        [
            ("Authorize", {"idTag": TAG}),
            ("StartTransaction", {"connectorId": 1, "idTag": TAG}),
            ("StatusNotification", {"connectorId": 1, "status": "Charging"}),
        ],
        within=CHARGING_WITHIN,
        since=mark,
    )
    t.check(
        found[1]["meterStart"] == before,
        f"meterStart {found[1]['meterStart']} Wh is not the meter register {before} Wh",
    )


@scenario("TC_004_1_CS", "Regular Charging Session - Identification First", requires=("C-07",))
async def tc_004_1(t: Handle) -> None:
    """Present a valid idTag first, then plug in: Authorize (Accepted), Preparing,
    StartTransaction with that idTag, Charging. OCPP 1.6 §4.1, §4.8, §4.9 (B3)."""
    await idle(t)
    mark = t.mark()
    await t.tap(TAG)
    await t.expect("Authorize", {"idTag": TAG}, since=mark)
    t.plug(1)
    await t.expect_sequence(
        [
            ("StatusNotification", {"connectorId": 1, "status": "Preparing"}),
            ("StartTransaction", {"connectorId": 1, "idTag": TAG}),
            ("StatusNotification", {"connectorId": 1, "status": "Charging"}),
        ],
        within=CHARGING_WITHIN,
        since=mark,
    )


@scenario(
    "TC_004_2_CS",
    "Regular Charging Session - Identification First - ConnectionTimeOut",
    requires=("C-07",),
)
async def tc_004_2(t: Handle) -> None:
    """ConnectionTimeOut set; a valid idTag is presented but no cable is plugged in. With
    one connector free (the others made Inoperative, so the tag has one place to go) it
    goes to Preparing at once and returns to Available after ConnectionTimeOut (from
    ConnectionTimeOut-1 to +10 s); the authorization lapses, so plugging in afterwards
    starts no transaction. OCPP 1.6 §9.1.6 ConnectionTimeOut (errata v4.0),
    §4.9 (B1 timeout, errata)."""
    await idle(t)
    await configure(t, ConnectionTimeOut=str(CONNECTION_TIMEOUT_S))
    others = [c for c in t.rig.connector_ids if c != 1]
    for connector in others:
        mark = t.mark()
        answer = await t.call(call.ChangeAvailability(connector_id=connector, type="Inoperative"))
        t.check(answer.get("status") == "Accepted", f"ChangeAvailability answered {answer}")
        await t.expect_status(connector, "Unavailable", since=mark)
    mark = t.mark()
    await t.tap(TAG)
    await t.expect("Authorize", {"idTag": TAG}, since=mark)
    try:
        preparing = await t.expect_status(1, "Preparing", within=5, since=mark)
    except ScenarioFailed as failed:
        raise ScenarioFailed(
            f"the accepted idTag was routed to no connector: {failed}; with one connector "
            "free the charger must show it Preparing and time it out"
        ) from None
    available = await t.expect_status(
        1, "Available", within=CONNECTION_TIMEOUT_S + 10, since=t.index_of(preparing)
    )
    waited = t.frame_of(available)["ts"] - t.frame_of(preparing)["ts"]
    t.check(
        CONNECTION_TIMEOUT_S - tolerance(t) <= waited <= CONNECTION_TIMEOUT_S + 10,
        f"connector 1 went back to Available after {waited:.1f} s, "
        f"ConnectionTimeOut is {CONNECTION_TIMEOUT_S} s",
        timing=True,
    )
    late = t.mark()
    t.plug(1)
    await t.expect_status(1, "Preparing", since=late)
    await t.expect_none("StartTransaction", during=4, since=mark)
    for connector in others:
        await t.call(call.ChangeAvailability(connector_id=connector, type="Operative"))


async def _ev_side_disconnect_setup(t: Handle, stop_on_disconnect: bool, unlock: bool) -> list[str]:
    """The OCTT's configuration for TC_005_x: MinimumStatusDuration 0 (where supported),
    StopTransactionOnEVSideDisconnect, UnlockConnectorOnEVSideDisconnect. Returns the
    problems found on the way, reported at the end of the case (the case goes on)."""
    problems: list[str] = []
    if t.pics.get("C-05"):
        await configure(t, MinimumStatusDuration="0")
    await configure(t, StopTransactionOnEVSideDisconnect=str(stop_on_disconnect).lower())
    if t.pics.get("HFS-1"):
        await configure(t, UnlockConnectorOnEVSideDisconnect=str(unlock).lower())
        return problems
    # A fixed cable has nothing to unlock: the key SHALL read false and SHALL NOT be
    # changeable (§9.1.33 as amended by the errata sheet v4.0).
    value = await t.config_value("UnlockConnectorOnEVSideDisconnect")
    t.check(value is not None, "UnlockConnectorOnEVSideDisconnect is not reported (§9.1.33)")
    if unlock:  # TC_005_1 asks for true: the one place this is checked
        if str(value).lower() != "false":
            problems.append(
                f"a fixed-cable charger reports UnlockConnectorOnEVSideDisconnect={value}; it "
                "SHALL always report false (§9.1.33, errata v4.0)"
            )
        answer = await t.call(
            call.ChangeConfiguration(key="UnlockConnectorOnEVSideDisconnect", value="true")
        )
        if answer.get("status") != "Rejected":
            problems.append(
                f"a fixed-cable charger answered {answer.get('status')} to "
                "UnlockConnectorOnEVSideDisconnect=true; it SHALL NOT allow the change "
                "(§9.1.33, errata v4.0)"
            )
    elif str(value).lower() != "false":
        await configure(t, UnlockConnectorOnEVSideDisconnect="false")
    return problems


async def _disconnect_stops(t: Handle, tx: Tx) -> int:
    """EV side disconnect with StopTransactionOnEVSideDisconnect=true: StopTransaction
    EVDisconnected, then (Finishing and) the connector's next status."""
    mark = t.mark()
    t.unplug(1)
    await stopped(t, tx, "EVDisconnected", mark)
    return mark


@scenario(
    "TC_005_1_CS",
    "EV Side Disconnected - StopTransactionOnEVSideDisconnect = true - "
    "UnlockConnectorOnEVSideDisconnect = true",
    requires=("C-06.2",),
)
async def tc_005_1(t: Handle) -> None:
    """StopTransactionOnEVSideDisconnect=true, UnlockConnectorOnEVSideDisconnect=true
    (a fixed-cable charger must refuse the latter): the cable is pulled out of the EV
    while charging; the charger stops the transaction with reason EVDisconnected and,
    the cable being released, the connector becomes Available. OCPP 1.6 §4.10
    StopTransaction, §9.1.23 StopTransactionOnEVSideDisconnect, §9.1.33 (errata v4.0)."""
    await idle(t)
    problems = await _ev_side_disconnect_setup(t, stop_on_disconnect=True, unlock=True)
    tx = await start_remote(t, 1, TAG)
    mark = await _disconnect_stops(t, tx)
    await t.expect_status(1, "Available", since=mark)
    t.check(not problems, "; ".join(problems))


@scenario(
    "TC_005_2_CS",
    "EV Side Disconnected - StopTransactionOnEVSideDisconnect = true - "
    "UnlockConnectorOnEVSideDisconnect = false",
    requires=("C-06.2",),
)
async def tc_005_2(t: Handle) -> None:
    """StopTransactionOnEVSideDisconnect=true, UnlockConnectorOnEVSideDisconnect=false:
    the cable is pulled out of the EV; StopTransaction EVDisconnected. A detachable cable
    stays locked (Finishing, not Available) until UnlockConnector; a fixed cable has
    nothing to keep locked and the connector becomes Available. OCPP 1.6 §4.10, §9.1.23,
    §9.1.33, §5.18 UnlockConnector."""
    await idle(t)
    problems = await _ev_side_disconnect_setup(t, stop_on_disconnect=True, unlock=False)
    tx = await start_remote(t, 1, TAG)
    mark = await _disconnect_stops(t, tx)
    if not t.pics.get("HFS-1"):
        await t.expect_status(1, "Available", since=mark)
        t.check(not problems, "; ".join(problems))
        return
    await t.expect_status(1, "Finishing", since=mark)
    await t.expect_none("StatusNotification", {"connectorId": 1, "status": "Available"}, 3, mark)
    answer = await t.call(call.UnlockConnector(connector_id=1))
    t.check(answer.get("status") == "Unlocked", f"UnlockConnector answered {answer}")


@scenario(
    "TC_005_3_CS",
    "EV Side Disconnected - StopTransactionOnEVSideDisconnect = false",
    requires=("C-06.1",),
)
async def tc_005_3(t: Handle) -> None:
    """StopTransactionOnEVSideDisconnect=false: pulling the cable out of the EV does not
    stop the transaction, it only suspends it (SuspendedEV or SuspendedEVSE); the
    Central System then stops it remotely: StopTransaction Remote, connector Available.
    OCPP 1.6 §4.10 (cable disconnected on EV side), §9.1.23, §5.12 RemoteStopTransaction."""
    await idle(t)
    problems = await _ev_side_disconnect_setup(t, stop_on_disconnect=False, unlock=False)
    tx = await start_remote(t, 1, TAG)
    mark = t.mark()
    t.unplug(1)
    try:
        await t.expect(
            "StatusNotification",
            {"connectorId": 1, "status": lambda s: s in ("SuspendedEV", "SuspendedEVSE")},
            within=10,
            since=mark,
        )
    except ScenarioFailed:
        stops = t.from_dut(mark, "StopTransaction")
        if stops:
            raise ScenarioFailed(
                "StopTransactionOnEVSideDisconnect=false, yet disconnecting the EV side "
                f"stopped the transaction (reason {stops[0]['payload'].get('reason')})"
            ) from None
        raise ScenarioFailed(
            "after the EV side disconnect connector 1 did not report SuspendedEV or "
            f"SuspendedEVSE; it reported: {' -> '.join(t.statuses(1, mark)) or 'nothing'}"
        ) from None
    await t.expect_none("StopTransaction", during=3, since=mark)
    stop_mark = t.mark()
    await remote_stop(t, tx.transaction_id)
    await stopped(t, tx, "Remote", stop_mark)
    await t.expect_status(1, "Available", since=stop_mark)
    t.check(not problems, "; ".join(problems))


@scenario(
    "TC_068_CS",
    "Stop transaction - IdTag matches StartTransaction IdTag",
    requires=("C-08",),
)
async def tc_068(t: Handle) -> None:
    """A transaction is running; the driver presents the idTag that started it: the
    charger stops it without a new Authorize, StopTransaction reason Local with that
    idTag, then Finishing; unplugging makes the connector Available. OCPP 1.6 §4.10
    StopTransaction (local stop by the same identifier), §4.9 (C6, E1)."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    await t.expect_none("StopTransaction", during=3, since=t.index_of(tx.start))
    mark = t.mark()
    await t.tap(TAG)
    stop = await stopped(t, tx, "Local", mark)
    t.check(stop.get("idTag") == TAG, f"StopTransaction idTag {stop.get('idTag')}, not {TAG}")
    again = authorizes_of(t, TAG, mark, until=stop)
    t.check(not again, "the charger sent Authorize for the idTag that started the transaction")
    await t.expect_status(1, "Finishing", since=mark)
    late = t.mark()
    t.unplug(1)
    await t.expect_status(1, "Available", since=late)


@scenario(
    "TC_069_CS",
    "Stop transaction - ParentIdTag matches StartTransaction ParentIdTag",
    requires=("C-08",),
)
async def tc_069(t: Handle) -> None:
    """Two idTags share a parentIdTag. The first starts a transaction; the second is
    presented: Authorize (Accepted, same parentIdTag), then StopTransaction reason Local
    with the second idTag, Finishing. OCPP 1.6 §4.10 (stop by an identifier with the
    same parent), §4.1 Authorize, §7.27 IdTagInfo.parentIdTag."""
    await idle(t)
    parent = "0A00PARENT"
    first, second = "0A00C0FFEE", TAG_2
    t.csms.add_id_tag(parent, "Accepted")
    t.csms.add_id_tag(first, "Accepted", parent=parent)
    t.csms.add_id_tag(second, "Accepted", parent=parent)
    await plug(t, 1)
    authorize = await authorize_remote(t)
    mark = t.mark()
    answer = await t.call(call.RemoteStartTransaction(id_tag=first, connector_id=1))
    t.check(answer.get("status") == "Accepted", f"RemoteStartTransaction answered {answer}")
    if authorize:
        await t.expect("Authorize", {"idTag": first}, since=mark)
    tx = await started(t, 1, first, mark)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)
    mark = t.mark()
    await t.tap(second)
    auth = await t.expect("Authorize", {"idTag": second}, since=mark)
    info = (await t.answer(auth)).get("idTagInfo", {})
    t.check(info.get("parentIdTag") == parent, f"the bench answered {info}")
    stop = await stopped(t, tx, "Local", mark)
    t.check(stop.get("idTag") == second, f"StopTransaction idTag {stop.get('idTag')}, not {second}")
    await t.expect_status(1, "Finishing", since=mark)
