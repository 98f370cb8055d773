"""Steps the Core _CS cases share: the OCTT's reusable states, written once.

Everything waits on the message trace (``t.expect``), never on a fixed sleep,
except where a case has to let time pass on purpose (a timeout, an offline period).
Times are simulated seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocpp.v16 import call

from bench.scenarios.handle import Handle, ScenarioFailed
from charger.protocol.times import parse_ocpp_time

TAG = "0A00B1C2D3"  # Accepted at the bench CSMS (bench/system.py DEMO_TAGS)
TAG_2 = "0A00E4F5A6"  # Accepted
BLOCKED = "0A00BADBAD"  # Blocked
UNKNOWN = "0A00FFFF01"  # not known to the CSMS: Authorize/StartTransaction answer Invalid

START_WITHIN = 15.0  # RemoteStart/RFID .. StartTransaction
CHARGING_WITHIN = 30.0  # StartTransaction .. Charging (DC: SLAC, cable check, pre-charge)
REBOOT_WITHIN = 60.0  # a reboot: process start, TLS, BootNotification


@dataclass
class Tx:
    connector: int
    id_tag: str
    transaction_id: int
    start: dict[str, Any]


def tolerance(t: Handle, seconds: float = 1.0) -> float:
    """A timing tolerance in simulated seconds: the OCTT's ``seconds`` plus 0.3 s of wall
    time for the bench's own scheduling, which a faster clock stretches in simulated time."""
    return seconds + 0.3 * t.clock.speed


def connectors(t: Handle) -> list[int]:
    return list(t.rig.connector_ids)


def parse_ts(value: str) -> float:
    """An OCPP dateTime as Unix seconds (a value without offset is UTC)."""
    parsed = parse_ocpp_time(value)
    assert parsed is not None
    return parsed.timestamp()


async def idle(t: Handle, within: float = 15.0) -> None:
    """The OCTT's starting point: the charger booted, accepted, and every connector's
    latest reported status is Available (a transient state reported at boot, e.g. a
    fault that clears, is waited out here; the boot cases check the boot itself)."""
    await t.booted()

    def last(connector: int) -> dict[str, Any] | None:
        frames = [
            f["payload"]
            for f in t.from_dut(0, "StatusNotification")
            if f["payload"].get("connectorId") == connector
        ]
        return frames[-1] if frames else None

    def all_available() -> bool:
        return all((last(c) or {}).get("status") == "Available" for c in connectors(t))

    try:
        await t.wait_until("every connector Available", all_available, within)
    except ScenarioFailed:
        states = []
        for c in connectors(t):
            frame = last(c) or {}
            detail = frame.get("errorCode", "")
            if frame.get("info"):
                detail += f": {frame['info']}"
            states.append(f"connector {c} {frame.get('status')} ({detail})")
        raise ScenarioFailed(
            f"precondition not met: the charger is not idle {within:g} s after boot: "
            + ", ".join(states)
        ) from None


async def tap_again(t: Handle, tag: str) -> None:
    """Present a card the reader saw a moment ago. The reader reports a card removed only
    after a short silence (RDM6300: 0.3 s wall), so the driver takes the card away for a
    moment first, as a person does; presented at once it would read as one long tap."""
    await t.sleep(max(2.0, 0.5 * t.clock.speed))
    await t.tap(tag)


async def configure(t: Handle, **pairs: str) -> None:
    """ChangeConfiguration for each key, as the OCTT does before a case; each must be taken."""
    for key, value in pairs.items():
        await t.configure(key, value)


async def authorize_remote(t: Handle) -> bool:
    """AuthorizeRemoteTxRequests as the device reports it (a required Core key, §9.1)."""
    value = await t.config_value("AuthorizeRemoteTxRequests")
    t.check(
        value is not None,
        "GetConfiguration does not report AuthorizeRemoteTxRequests (required Core key, §9.1.1)",
    )
    return str(value).lower() == "true"


async def plug(t: Handle, connector: int = 1) -> None:
    mark = t.mark()
    t.plug(connector)
    await t.expect_status(connector, "Preparing", since=mark)


async def unplug(t: Handle, connector: int = 1) -> None:
    mark = t.mark()
    t.unplug(connector)
    await t.expect_status(connector, "Available", since=mark)


async def remote_start(
    t: Handle, connector: int | None, tag: str, expect: str = "Accepted"
) -> None:
    answer = await t.call(call.RemoteStartTransaction(id_tag=tag, connector_id=connector))
    t.check(
        answer.get("status") == expect,
        f"RemoteStartTransaction(connectorId={connector}, idTag={tag}) answered "
        f"{answer.get('status')}, not {expect}",
    )


async def remote_stop(t: Handle, transaction_id: int, expect: str = "Accepted") -> None:
    answer = await t.call(call.RemoteStopTransaction(transaction_id=transaction_id))
    t.check(
        answer.get("status") == expect,
        f"RemoteStopTransaction({transaction_id}) answered {answer.get('status')}, not {expect}",
    )


async def started(
    t: Handle, connector: int, tag: str, since: int, within: float = START_WITHIN
) -> Tx:
    """The StartTransaction for ``tag`` on ``connector`` and the transactionId it got."""
    start = await t.expect(
        "StartTransaction", {"connectorId": connector, "idTag": tag}, within, since
    )
    answer = await t.answer(start)
    return Tx(connector, tag, int(answer["transactionId"]), start)


async def stopped(
    t: Handle, tx: Tx, reason: str, since: int, within: float = 15.0
) -> dict[str, Any]:
    """The StopTransaction of ``tx``; its reason must be ``reason`` (absent means Local)."""
    stop = await t.expect("StopTransaction", {"transactionId": tx.transaction_id}, within, since)
    have = stop.get("reason", "Local")
    t.check(
        have == reason,
        f"StopTransaction {tx.transaction_id} has reason {have}, not {reason}",
    )
    t.check(
        stop["meterStop"] >= tx.start["meterStart"],
        f"meterStop {stop['meterStop']} is below meterStart {tx.start['meterStart']}",
    )
    return stop


async def start_local(t: Handle, connector: int = 1, tag: str = TAG) -> Tx:
    """Reusable state Charging, local start: plug in, present ``tag``, wait for Charging."""
    await plug(t, connector)
    mark = t.mark()
    await t.tap(tag)
    await t.expect("Authorize", {"idTag": tag}, since=mark)
    tx = await started(t, connector, tag, mark)
    await t.expect_status(connector, "Charging", CHARGING_WITHIN, mark)
    return tx


async def start_remote(t: Handle, connector: int = 1, tag: str = TAG, plugged: bool = False) -> Tx:
    """Reusable state Charging, remote start: plug in, RemoteStartTransaction, Charging."""
    authorize = await authorize_remote(t)
    if not plugged:
        await plug(t, connector)
    mark = t.mark()
    await remote_start(t, connector, tag)
    if authorize:
        await t.expect("Authorize", {"idTag": tag}, since=mark)
    tx = await started(t, connector, tag, mark)
    await t.expect_status(connector, "Charging", CHARGING_WITHIN, mark)
    return tx


async def stop_remote(t: Handle, tx: Tx) -> dict[str, Any]:
    mark = t.mark()
    await remote_stop(t, tx.transaction_id)
    return await stopped(t, tx, "Remote", mark)


async def fill_cache_local(t: Handle, tag: str, connector: int = 1) -> None:
    """One short online session with ``tag`` so the device caches its IdTagInfo (§3.5.1)."""
    await plug(t, connector)
    mark = t.mark()
    await t.tap(tag)
    await t.expect("Authorize", {"idTag": tag}, since=mark)
    tx = await started(t, connector, tag, mark)
    mark = t.mark()
    await tap_again(t, tag)
    await stopped(t, tx, "Local", mark)
    await unplug(t, connector)


async def fill_cache_remote(t: Handle, tag: str, connector: int = 1) -> None:
    """One short remotely started session (AuthorizeRemoteTxRequests=true) to cache ``tag``."""
    tx = await start_remote(t, connector, tag)
    await stop_remote(t, tx)
    await unplug(t, connector)


def authorizes_of(t: Handle, tag: str, since: int, until: dict[str, Any] | None = None) -> list:
    """Authorize requests for ``tag`` after ``since`` (up to the request ``until``)."""
    frames = t.from_dut(since, "Authorize")
    if until is not None:
        limit = t.frame_of(until)["ts"]
        frames = [f for f in frames if f["ts"] <= limit]
    return [f for f in frames if f["payload"].get("idTag") == tag]


async def status_after_boot(t: Handle, since: int, statuses: dict[int, tuple[str, ...]]) -> None:
    """After BootNotification Accepted: a StatusNotification for connector 0 and every
    connector (errata v4.0, §4.9), each with one of the given statuses."""
    for connector, allowed in statuses.items():
        frame = await t.expect(
            "StatusNotification",
            {"connectorId": connector},
            within=REBOOT_WITHIN,
            since=since,
        )
        detail = frame.get("errorCode", "")
        if frame.get("info"):
            detail += f": {frame['info']}"
        t.check(
            frame["status"] in allowed,
            f"after the boot connector {connector} reported {frame['status']} ({detail}), "
            f"not {' or '.join(allowed)}",
        )
