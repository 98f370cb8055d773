"""Offline behaviour: TC_036, TC_037_1, TC_037_2, TC_037_3, TC_038, TC_039.

The link is cut the way a pulled cable looks (the proxy aborts every connection and
refuses new ones); the charger must go on by itself and deliver its transaction
messages, in order, once it is connected again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bench.scenarios.cs_core.steps import (
    TAG,
    UNKNOWN,
    configure,
    fill_cache_local,
    idle,
    parse_ts,
    start_remote,
    started,
    stop_remote,
    stopped,
    tap_again,
    tolerance,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario
from charger.clock import iso

RECONNECT_WITHIN = 45.0  # the charger's reconnect back-off after an offline period
FLOWING_W = 100.0
OFFLINE_SAMPLE_S = 5
STILL_OFFLINE_S = 3  # the link stays down a while after the stop: its timestamp must show it


async def _offline(t: Handle) -> float:
    """Cut the link; returns the simulated time the charger went offline."""
    t.cut_link()
    await t.wait_until(
        "the charge point's connection to drop", lambda: not t.csms.connected(t.cp_id), 10
    )
    return t.clock.time()


def _check_offline_stamp(t: Handle, name: str, payload: dict, gone: float, back: float) -> None:
    """The message's timestamp lies in the offline period, both ends checked: a charger
    that stamps it when it finally sends it, or with a stale or made-up time, fails."""
    stamp = parse_ts(payload["timestamp"])
    slack = tolerance(t)
    t.check(
        gone - slack <= stamp <= back + slack,
        f"{name} timestamp {payload['timestamp']} is not in the offline period "
        f"({_iso(gone)} .. {_iso(back)})",
    )


def _iso(moment: float) -> str:
    return iso(datetime.fromtimestamp(moment, UTC))


async def _online(t: Handle) -> tuple[int, float]:
    """Restore the link; returns (trace mark, simulated time) of the restore."""
    mark = t.mark()
    at = t.clock.time()
    t.restore_link()
    await t.wait_until(
        "the charge point to reconnect", lambda: t.csms.connected(t.cp_id), RECONNECT_WITHIN
    )
    return mark, at


async def _energy_flows(t: Handle, what: str, connector: int = 1) -> None:
    await t.wait_until(what, lambda: t.rig.power_w(connector) > FLOWING_W, 30)


async def _energy_stops(t: Handle, what: str, connector: int = 1) -> None:
    await t.wait_until(what, lambda: t.rig.power_w(connector) < FLOWING_W / 2, 15)


async def _valid_offline(t: Handle, tag: str) -> str:
    """Make ``tag`` valid for an offline start: cached by an online session if the
    charger has a cache (C-04), else through Unknown Offline Authorization (C-02)."""
    await configure(t, LocalAuthorizeOffline="true")
    if t.pics.get("C-04"):
        await configure(t, AuthorizationCacheEnabled="true")
        await fill_cache_local(t, tag)
        return "cached"
    t.check(
        bool(t.pics.get("C-02")),
        "the PICS declares offline authorization (C-01) but neither an authorization cache "
        "(C-04) nor AllowOfflineTxForUnknownId (C-02): no way to make an idTag valid offline",
    )
    await configure(t, AllowOfflineTxForUnknownId="true")
    return "allowed as unknown"


@scenario("TC_036_CS", "Connection Loss During Transaction")
async def tc_036(t: Handle) -> None:
    """MeterValueSampleInterval 5 s; a transaction is charging when the connection is
    lost. Charging goes on; the samples taken offline are queued and delivered, with
    the transactionId and in chronological order, once the charger is back; the
    transaction is still running and the Central System stops it: StopTransaction
    Remote. OCPP 1.6 §3.5 Local Authorization & Offline Behavior, §4.7 MeterValues,
    §5.12."""
    await idle(t)
    await configure(t, MeterValueSampleInterval=str(OFFLINE_SAMPLE_S), ClockAlignedDataInterval="0")
    tx = await start_remote(t, 1, TAG)
    await t.expect(
        "MeterValues",
        {"connectorId": 1, "transactionId": tx.transaction_id},
        within=OFFLINE_SAMPLE_S + 5,
        since=t.index_of(tx.start),
    )
    gone = await _offline(t)
    await t.sleep(2 * OFFLINE_SAMPLE_S + 2)
    t.check(t.rig.power_w(1) > FLOWING_W, "charging stopped when the connection was lost")
    mark, back = await _online(t)

    def offline_sample(meter_values: Any) -> bool:
        return any(gone <= parse_ts(mv["timestamp"]) <= back for mv in meter_values or [])

    stamps: list[float] = []
    position = mark
    for count in range(2):
        try:
            payload = await t.expect(
                "MeterValues",
                {"transactionId": tx.transaction_id, "meterValue": offline_sample},
                within=15,
                since=position,
            )
        except ScenarioFailed:
            raise ScenarioFailed(
                f"after reconnecting the charger delivered {count} MeterValues sampled while "
                f"offline ({gone - t.clock.origin_sim:.0f}..{back - t.clock.origin_sim:.0f} s); "
                f"{2 * OFFLINE_SAMPLE_S + 2} s offline at a {OFFLINE_SAMPLE_S} s interval "
                "should give at least 2"
            ) from None
        position = t.index_of(payload) + 1
        stamps += [parse_ts(mv["timestamp"]) for mv in payload["meterValue"]]
    t.check(stamps == sorted(stamps), "the queued MeterValues were not delivered in order")
    t.check(not t.from_dut(mark, "StopTransaction"), "the transaction ended while offline")
    await stop_remote(t, tx)


@scenario(
    "TC_037_1_CS",
    "Offline Start Transaction - Valid IdTag",
    requires=("C-01", "C-07"),
)
async def tc_037_1(t: Handle) -> None:
    """LocalAuthorizeOffline true and the idTag valid offline (in the authorization cache,
    or Unknown Offline Authorization). Offline, the driver plugs in and presents it: the
    charger starts charging by itself; once back online it sends the StartTransaction
    (timestamped in the offline period), which is Accepted, and the transaction goes on.
    OCPP 1.6 §3.5 (§3.5.1 cache, §3.5.4 unknown offline authorization), §9.1.12
    LocalAuthorizeOffline, §4.8."""
    await idle(t)
    await _valid_offline(t, TAG)
    gone = await _offline(t)
    t.plug(1)
    await tap_again(t, TAG)
    await _energy_flows(t, "the charger to start charging offline for a valid idTag")
    mark, back = await _online(t)
    tx = await started(t, 1, TAG, mark, within=20)
    _check_offline_stamp(t, "StartTransaction", tx.start, gone, back)
    answer = await t.answer(tx.start)
    t.check(answer["idTagInfo"]["status"] == "Accepted", f"the bench answered {answer}")
    await t.expect_none("StopTransaction", during=3, since=mark)
    t.check(t.rig.power_w(1) > FLOWING_W, "charging stopped after the StartTransaction")


async def _offline_unknown_start(t: Handle, stop_on_invalid: bool) -> tuple[Any, int]:
    await idle(t)
    await configure(
        t,
        LocalAuthorizeOffline="true",
        AllowOfflineTxForUnknownId="true",
        StopTransactionOnInvalidId=str(stop_on_invalid).lower(),
    )
    if t.pics.get("C-03"):
        await configure(t, MaxEnergyOnInvalidId="0")
    await _offline(t)
    t.plug(1)
    await t.tap(UNKNOWN)
    await _energy_flows(t, "the charger to start charging offline for an unknown idTag")
    mark, _ = await _online(t)
    tx = await started(t, 1, UNKNOWN, mark, within=20)
    answer = await t.answer(tx.start)
    t.check(answer["idTagInfo"]["status"] == "Invalid", f"the bench answered {answer}")
    return tx, t.index_of(tx.start)


@scenario(
    "TC_037_2_CS",
    "Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = false",
    requires=("C-01", "C-02", "C-07"),
)
async def tc_037_2(t: Handle) -> None:
    """AllowOfflineTxForUnknownId true, StopTransactionOnInvalidId false (MaxEnergyOnInvalidId
    0 where supported). Offline, an unknown idTag starts a transaction; back online the
    StartTransaction is answered Invalid: the charger only stops the energy delivery
    (SuspendedEVSE) and does not stop the transaction. OCPP 1.6 §3.5.4, §4.8 (errata v4.0:
    StartTransaction.conf not Accepted), §9.1.24 StopTransactionOnInvalidId, §9.1.14."""
    _, after = await _offline_unknown_start(t, stop_on_invalid=False)
    await t.expect_status(1, "SuspendedEVSE", within=15, since=after)
    await _energy_stops(t, "the charger to stop delivering energy to the invalid idTag")
    await t.expect_none("StopTransaction", during=3, since=after)


@scenario(
    "TC_037_3_CS",
    "Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = true",
    requires=("C-01", "C-02", "C-07"),
)
async def tc_037_3(t: Handle) -> None:
    """AllowOfflineTxForUnknownId true, StopTransactionOnInvalidId true. Offline, an
    unknown idTag starts a transaction; back online the StartTransaction is answered
    Invalid: the charger stops the transaction, StopTransaction reason DeAuthorized, and
    the connector goes to Finishing. OCPP 1.6 §3.5.4, §4.8 (errata v4.0), §9.1.24,
    §7.36 Reason DeAuthorized."""
    tx, after = await _offline_unknown_start(t, stop_on_invalid=True)
    await stopped(t, tx, "DeAuthorized", after)
    await t.expect_status(1, "Finishing", since=after)


@scenario("TC_038_CS", "Offline Stop Transaction", requires=("C-08",))
async def tc_038(t: Handle) -> None:
    """A transaction is charging; the connection is lost; the driver presents the idTag
    that started it: the charger stops charging by itself and, once back online,
    delivers StopTransaction reason Local with that idTag, timestamped in the offline
    period. OCPP 1.6 §3.5, §4.10."""
    await idle(t)
    tx = await start_remote(t, 1, TAG)
    gone = await _offline(t)
    await t.tap(TAG)
    await _energy_stops(t, "the charger to stop charging offline when the idTag is presented")
    await t.sleep(STILL_OFFLINE_S)
    mark, back = await _online(t)
    stop = await stopped(t, tx, "Local", mark, within=20)
    t.check(stop.get("idTag") == TAG, f"StopTransaction idTag {stop.get('idTag')}, not {TAG}")
    _check_offline_stamp(t, "StopTransaction", stop, gone, back - STILL_OFFLINE_S)


@scenario("TC_039_CS", "Offline Transaction", requires=("C-01", "C-07", "C-08"))
async def tc_039(t: Handle) -> None:
    """A whole transaction while offline: plug in, present a valid idTag (cached or
    allowed as unknown), charge, present it again to stop. Back online the charger sends
    StartTransaction then StopTransaction (reason Local) for the transactionId the
    StartTransaction.conf gave, both timestamped in the offline period.
    OCPP 1.6 §3.5, §4.8, §4.10."""
    await idle(t)
    await _valid_offline(t, TAG)
    gone = await _offline(t)
    t.plug(1)
    await tap_again(t, TAG)
    await _energy_flows(t, "the charger to start charging offline for a valid idTag")
    await tap_again(t, TAG)
    await _energy_stops(t, "the charger to stop charging offline when the idTag is presented")
    await t.sleep(STILL_OFFLINE_S)
    mark, back = await _online(t)
    tx = await started(t, 1, TAG, mark, within=20)
    stop = await stopped(t, tx, "Local", t.index_of(tx.start), within=20)
    _check_offline_stamp(t, "StartTransaction", tx.start, gone, back - STILL_OFFLINE_S)
    _check_offline_stamp(t, "StopTransaction", stop, gone, back - STILL_OFFLINE_S)
    t.check(
        parse_ts(tx.start["timestamp"]) < parse_ts(stop["timestamp"]),
        f"the offline transaction stopped ({stop['timestamp']}) before it started "
        f"({tx.start['timestamp']})",
    )
    t.check(
        stop["meterStop"] > tx.start["meterStart"],
        "no energy was metered for the offline transaction",
    )
