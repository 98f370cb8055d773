"""The four end-to-end charging sessions of the rig: the bench's smoke test.

Each ends with the same proof: the CSMS holds exactly the transactions expected,
and each one's energy (meterStop - meterStart) equals what the meter's register
moved by, to the watt-hour.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

TAG = "0A00B1C2D3"
TAG_2 = "0A00E4F5A6"
CHARGE_S = 12.0  # at MeterValueSampleInterval 5: at least two periodic samples
UNITS = {
    "Energy.Active.Import.Register": "Wh",
    "Voltage": "V",
    "Current.Import": "A",
    "SoC": "Percent",
}
FAST = {"MeterValueSampleInterval": "5", "HeartbeatInterval": "30"}


async def tap(t: Handle, uid: str) -> None:
    await t.tap(uid)


async def plug(t: Handle, connector: int) -> None:
    mark = t.mark()
    t.plug(connector)
    await t.expect(
        "StatusNotification", {"connectorId": connector, "status": "Preparing"}, since=mark
    )


async def charging(t: Handle, connector: int, since: int) -> dict[str, Any]:
    start = await t.expect("StartTransaction", {"connectorId": connector}, within=10, since=since)
    await t.expect(
        "StatusNotification",
        {"connectorId": connector, "status": "Charging"},
        within=45,
        since=since,
    )
    return start


async def meter_values_during(t: Handle, connector: int, since: int, count: int = 2) -> None:
    """``count`` distinct MeterValues of ``connector`` after ``since``, each checked: the
    next one is looked for after the frame just checked, never the same frame again."""
    for _ in range(count):
        payload = await t.expect("MeterValues", {"connectorId": connector}, within=15, since=since)
        sampled = {s.get("measurand"): s for s in payload["meterValue"][0]["sampledValue"]}
        t.check(
            set(UNITS) <= set(sampled),
            f"MeterValues lacks measurands: {sorted(m for m in sampled if m)}",
        )
        for measurand, unit in UNITS.items():
            t.check(
                sampled[measurand].get("unit") == unit,
                f"{measurand} in {sampled[measurand].get('unit')}, not {unit}",
            )
        t.check(200 <= float(sampled["Voltage"]["value"]) <= 1000, "implausible DC voltage")
        t.check(0 <= float(sampled["SoC"]["value"]) <= 100, "SoC outside 0..100 %")
        since = t.index_of(payload) + 1


def settle_transaction(t: Handle, connector: int, meter_before: float, key: str = "") -> dict:
    """The CSMS's transaction on this connector, checked against the meter register."""
    done = [
        tx
        for tx in t.csms.transactions(t.cp_id)
        if tx["connector_id"] == connector and tx["meter_stop"] is not None
    ]
    t.check(len(done) == 1, f"connector {connector}: {len(done)} completed transactions, not 1")
    tx = done[0]
    energy = tx["meter_stop"] - tx["meter_start"]
    delta = round(t.rig.meter_wh(connector) - meter_before)
    t.check(energy > 0, f"connector {connector}: no energy delivered")
    t.check(
        energy == delta,
        f"connector {connector}: transaction energy {energy} Wh but the meter moved {delta} Wh",
    )
    t.details[f"transaction{key}"] = tx["id"]
    t.details[f"energy_wh{key}"] = energy
    t.details[f"meter_delta_wh{key}"] = delta
    t.details[f"stop_reason{key}"] = tx["stop_reason"]
    return tx


@scenario(
    "local-rfid-session",
    "Connector 1 (CCS2): plug in, RFID, charge, same RFID to stop, unplug",
    profile="bench",
    agent_config=FAST,
)
async def local_rfid_session(t: Handle) -> None:
    await t.booted()
    before = t.rig.meter_wh(1)
    await plug(t, 1)
    mark = t.mark()
    await tap(t, TAG)
    await t.expect("Authorize", {"idTag": TAG}, since=mark)
    await charging(t, 1, mark)
    await meter_values_during(t, 1, t.mark())
    mark = t.mark()
    await tap(t, TAG)
    stop = await t.expect("StopTransaction", {"reason": "Local"}, within=15, since=mark)
    t.check(stop.get("idTag") == TAG, f"StopTransaction idTag {stop.get('idTag')} is not {TAG}")
    await t.expect("StatusNotification", {"connectorId": 1, "status": "Finishing"}, since=mark)
    t.rig.unplug(1)
    await t.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, since=mark)
    settle_transaction(t, 1, before)


@scenario(
    "remote-session",
    "Connector 2 (CCS1): RemoteStartTransaction, charge, RemoteStopTransaction",
    profile="bench",
    agent_config=FAST,
)
async def remote_session(t: Handle) -> None:
    await t.booted()
    before = t.rig.meter_wh(2)
    await plug(t, 2)
    mark = t.mark()
    t.step("RemoteStartTransaction on connector 2")
    answer = await t.call(call.RemoteStartTransaction(id_tag=TAG_2, connector_id=2))
    t.check(answer["status"] == "Accepted", f"RemoteStartTransaction answered {answer}")
    await charging(t, 2, mark)
    await meter_values_during(t, 2, t.mark())
    tx_id = next(tx["id"] for tx in t.csms.transactions(t.cp_id) if tx["meter_stop"] is None)
    mark = t.mark()
    t.step(f"RemoteStopTransaction {tx_id}")
    answer = await t.call(call.RemoteStopTransaction(transaction_id=tx_id))
    t.check(answer["status"] == "Accepted", f"RemoteStopTransaction answered {answer}")
    await t.expect("StopTransaction", {"transactionId": tx_id, "reason": "Remote"}, since=mark)
    t.rig.unplug(2)
    await t.expect("StatusNotification", {"connectorId": 2, "status": "Available"}, since=mark)
    settle_transaction(t, 2, before)


@scenario(
    "both-connectors",
    "Both connectors at once: RFID on connector 1 (CCS2), remote start on connector 2 (CCS1)",
    profile="bench",
    agent_config=FAST,
)
async def both_connectors(t: Handle) -> None:
    await t.booted()
    before = {1: t.rig.meter_wh(1), 2: t.rig.meter_wh(2)}
    await plug(t, 1)
    await plug(t, 2)
    mark = t.mark()
    await tap(t, TAG)
    answer = await t.call(call.RemoteStartTransaction(id_tag=TAG_2, connector_id=2))
    t.check(answer["status"] == "Accepted", f"RemoteStartTransaction answered {answer}")
    await charging(t, 1, mark)
    await charging(t, 2, mark)
    await t.sleep(CHARGE_S)
    t.check(t.rig.power_w(1) > 0 and t.rig.power_w(2) > 0, "both connectors should deliver power")
    open_tx = {tx["connector_id"]: tx["id"] for tx in t.csms.transactions(t.cp_id)}
    mark = t.mark()
    await tap(t, TAG)
    await t.call(call.RemoteStopTransaction(transaction_id=open_tx[2]))
    await t.expect("StopTransaction", {"transactionId": open_tx[1]}, within=15, since=mark)
    await t.expect("StopTransaction", {"transactionId": open_tx[2]}, within=15, since=mark)
    t.rig.unplug(1)
    t.rig.unplug(2)
    for connector in (1, 2):
        await t.expect(
            "StatusNotification", {"connectorId": connector, "status": "Available"}, since=mark
        )
    settle_transaction(t, 1, before[1], "_1")
    settle_transaction(t, 2, before[2], "_2")


@scenario(
    "power-loss",
    "Kill the agent mid-transaction; after restart it reports StopTransaction PowerLoss",
    profile="bench",
    agent_config=FAST,
)
async def power_loss(t: Handle) -> None:
    await t.booted()
    before = t.rig.meter_wh(1)
    await plug(t, 1)
    mark = t.mark()
    await tap(t, TAG)
    start = await charging(t, 1, mark)
    await t.sleep(CHARGE_S / 2)
    t.step("power loss: agent killed, charger hardware unpowered")
    t.system.power_loss()
    at_loss = t.rig.meter_wh(1)
    await t.sleep(3)
    t.check(t.rig.power_w(1) == 0, "power still flows after the charger lost power")
    mark = t.mark()
    t.step("power restored: agent restarts")
    t.system.power_restore()
    await t.expect("BootNotification", within=30, since=mark)
    stop = await t.expect("StopTransaction", {"reason": "PowerLoss"}, within=30, since=mark)
    meter_at_restart = round(t.rig.meter_wh(1))
    t.check(
        stop["meterStop"] == meter_at_restart,
        f"meterStop {stop['meterStop']} is not the register at restart {meter_at_restart}",
    )
    t.check(round(at_loss) == meter_at_restart, "energy flowed while the charger was down")
    t.rig.unplug(1)
    await t.expect("StatusNotification", {"connectorId": 1, "status": "Available"}, since=mark)
    settle_transaction(t, 1, before)
    every = t.csms.transactions(t.cp_id)
    t.check(len(every) == 1, f"the CSMS holds {len(every)} transactions, not exactly 1")
    t.check(start["idTag"] == TAG, "StartTransaction carried the wrong idTag")
