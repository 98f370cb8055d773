"""Soak: hundreds of random faults while both connectors charge, then an audit.

Faults are link cuts, CSMS restarts and agent kills (power loss). At the end every
transaction the CSMS holds must be complete, none lost or duplicated against the
agent's own SQLite, and the chain of meterStart/meterStop on each connector must
match the meter's register to the watt-hour: what was billed is what flowed.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from ocpp.v16 import call

from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

TAG = "0A00B1C2D3"
TAG_2 = "0A00E4F5A6"
FAULTS = ("link", "csms", "power")


def _open_csms_tx(t: Handle, connector: int) -> dict[str, Any] | None:
    for tx in t.csms.transactions(t.cp_id):
        if tx["connector_id"] == connector and tx["meter_stop"] is None:
            return tx
    return None


async def _start(t: Handle, rng: random.Random, connector: int) -> None:
    ev = t.rig.evs[connector]
    if ev.plugged and rng.random() < 0.3:
        t.rig.unplug(connector)
        await t.sleep(1)
    if not ev.plugged:
        t.rig.plug(connector)
        await t.sleep(0.5)
    if connector == 1 or not t.csms.connected(t.cp_id):
        await t.tap(TAG if connector == 1 else TAG_2)
    else:
        try:
            await t.csms.call(t.cp_id, call.RemoteStartTransaction(id_tag=TAG_2, connector_id=2))
        except Exception as exc:  # noqa: BLE001 - the CSMS may be down; try later
            t.step(f"remote start failed: {exc}")


async def _stop(t: Handle, rng: random.Random, connector: int) -> None:
    if rng.random() < 0.5:
        t.rig.unplug(connector)  # EV side disconnect
    else:
        await t.tap(TAG if connector == 1 else TAG_2)  # local stop, offline too


async def _fault(t: Handle, rng: random.Random, counts: dict[str, int]) -> None:
    kind = rng.choice(FAULTS)
    counts[kind] += 1
    outage = rng.uniform(0.5, 6.0)
    if kind == "link":
        t.system.proxy.cut()
        await t.sleep(outage)
        t.system.proxy.restore()
    elif kind == "csms":
        await t.system.stop_csms()
        await t.sleep(outage)
        await t.system.start_csms()
    else:
        t.system.power_loss()
        await t.sleep(outage)
        t.system.power_restore()


@scenario(
    "soak",
    "Random link cuts, CSMS restarts and power losses on both connectors; audit the energy",
    profile="bench",
    timeout_s=3600,
    agent_config={
        "MeterValueSampleInterval": "5",
        "HeartbeatInterval": "30",
        "LocalAuthorizeOffline": "true",
        "AllowOfflineTxForUnknownId": "true",
        "TransactionMessageRetryInterval": "1",
        "TransactionMessageAttempts": "10",
    },
)
async def soak(t: Handle) -> None:
    params = t.params
    faults = int(params.get("faults", 200))
    rng = random.Random(int(params.get("seed", 1)))
    await t.booted()
    start_wh = {c: round(t.rig.meter_wh(c)) for c in t.rig.connector_ids}
    counts = dict.fromkeys(FAULTS, 0)
    for n in range(faults):
        for connector in t.rig.connector_ids:
            logic_busy = t.rig.power_w(connector) > 0 or _open_csms_tx(t, connector)
            if not logic_busy and rng.random() < 0.8:
                await _start(t, rng, connector)
            elif logic_busy and rng.random() < 0.15:
                await _stop(t, rng, connector)
        await t.sleep(rng.uniform(1.0, 6.0))
        await _fault(t, rng, counts)
        if n % 20 == 0:
            t.step(f"{n} faults injected: {counts}")
    # wind down: everything up, every session ended, every message delivered
    t.system.proxy.restore()
    for connector in t.rig.connector_ids:
        t.rig.unplug(connector)
    await t.wait_until(
        "every transaction completed at the CSMS",
        lambda: t.csms.connected(t.cp_id) and _settled(t),
        within=180,
    )
    _audit(t, start_wh, counts, faults)


def _settled(t: Handle) -> bool:
    txs = t.csms.transactions(t.cp_id)
    return all(tx["meter_stop"] is not None for tx in txs) and _agent_outbox_empty(t)


def _agent_outbox_empty(t: Handle) -> bool:
    with sqlite3.connect(t.system.state.agent / "agent.sqlite", timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def _audit(t: Handle, start_wh: dict[int, int], counts: dict[str, int], faults: int) -> None:
    csms_txs = sorted(t.csms.transactions(t.cp_id), key=lambda tx: tx["id"])
    with sqlite3.connect(t.system.state.agent / "agent.sqlite", timeout=5) as db:
        agent_txs = db.execute(
            "SELECT local_id, connector_id, meter_start, meter_stop, csms_id FROM transactions"
            " ORDER BY local_id"
        ).fetchall()
    csms_ids = [row[4] for row in agent_txs]
    t.check(None not in csms_ids, "an agent transaction never reached the CSMS")
    t.check(len(set(csms_ids)) == len(csms_ids), "two agent transactions share a CSMS id")
    t.check(
        sorted(csms_ids) == [tx["id"] for tx in csms_txs],
        f"CSMS holds {len(csms_txs)} transactions, the agent made {len(agent_txs)}",
    )
    for connector in t.rig.connector_ids:
        chain = [tx for tx in csms_txs if tx["connector_id"] == connector]
        position = start_wh[connector]
        for tx in chain:
            t.check(
                tx["meter_start"] == position,
                f"connector {connector}: tx {tx['id']} starts at {tx['meter_start']} Wh "
                f"but the meter stood at {position} Wh",
            )
            t.check(tx["meter_stop"] >= tx["meter_start"], f"tx {tx['id']}: negative energy")
            position = tx["meter_stop"]
        register = round(t.rig.meter_wh(connector))
        t.check(
            position == register,
            f"connector {connector}: billed up to {position} Wh, register shows {register} Wh",
        )
        t.details[f"energy_wh_{connector}"] = register - start_wh[connector]
        t.details[f"transactions_{connector}"] = len(chain)
    t.details["faults"] = faults
    t.details.update({f"faults_{k}": v for k, v in counts.items()})
    t.details["transactions"] = len(csms_txs)
    reasons: dict[str, int] = {}
    for tx in csms_txs:
        reasons[tx["stop_reason"]] = reasons.get(tx["stop_reason"], 0) + 1
    t.details["stop_reasons"] = reasons
