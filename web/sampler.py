"""The sampler: on the bench's loop, turns the bench's state into what the panel shows.

Every ``every_s`` it reads :meth:`BenchView.status`, the new trace frames (each given
its connector and, for answers, its action), the CSMS's transactions and the
composite schedules, and publishes one snapshot, the frames and chart points to
:class:`~web.live_state.LiveState`. A sample that fails is logged once per distinct
error and shown in the snapshot as ``sampler_error``; the panel keeps going.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from bench.csms.frame_log import FrameRing
from web.live_state import LiveState
from web.system_view import BenchView

log = logging.getLogger("web.sampler")

REFRESH_SIM_S = 5.0  # re-read transactions and schedules at least this often (simulated)


class TraceReader:
    """Enriches frames with their charge point, connector and, for answers, the action
    they answer. The CSMS serves any number of charge points: everything is kept per
    charge point; ``status`` is the bench's own one's (``own``)."""

    def __init__(self, own: str = "") -> None:
        self.seen = 0
        self.own = own
        self.calls: dict[tuple[str, str, str], tuple[str | None, int | None]] = {}
        self.tx_connector: dict[tuple[str, int], int] = {}
        #: the last StatusNotification per charge point and connector
        self.stations: dict[str, dict[int, dict[str, Any]]] = {}
        self.schedules: dict[int, dict[str, Any]] = {}  # the charger's GetCompositeSchedule
        self.transactions_moved = False

    @property
    def status(self) -> dict[int, dict[str, Any]]:
        """The last StatusNotification per connector of the bench's own charge point."""
        return self.stations.get(self.own, {})

    def enrich_all(self, frames: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Enrich frames read back from the trace files (each carries its ``index``)."""
        return [self._enrich(int(frame.get("index", 0)), frame) for frame in frames]

    def read(self, trace: FrameRing) -> list[dict[str, Any]]:
        start = max(self.seen, trace.first)  # the ring may have dropped some
        new = trace[start:]
        out = [self._enrich(start + offset, frame) for offset, frame in enumerate(new)]
        self.seen = start + len(new)
        return out

    def _enrich(self, index: int, frame: dict[str, Any]) -> dict[str, Any]:
        sender = frame.get("sender")
        mtype = frame.get("message_type")
        uid = str(frame.get("unique_id"))
        payload = frame.get("payload")
        body = payload if isinstance(payload, dict) else {}
        action = frame.get("action")
        cp = str(frame.get("cp_id") or self.own)
        connector = body.get("connectorId") if isinstance(body.get("connectorId"), int) else None
        if connector is None and isinstance(body.get("transactionId"), int):
            connector = self.tx_connector.get((cp, body["transactionId"]))
        if mtype == 2:
            self.calls[(cp, str(sender), uid)] = (action, connector)
        elif mtype in (3, 4):
            caller = "bench" if sender == "dut" else "dut"
            call_action, call_connector = self.calls.pop((cp, caller, uid), (None, None))
            action = action or call_action
            if connector is None:
                connector = call_connector
            if mtype == 3 and action == "StartTransaction" and call_connector is not None:
                tx = body.get("transactionId")
                if isinstance(tx, int):
                    self.tx_connector[(cp, tx)] = call_connector
            if action == "GetCompositeSchedule" and sender == "dut" and cp == self.own:
                self._schedule_answer(call_connector, mtype, body, frame.get("ts"))
        if mtype == 2 and sender == "dut" and action == "StatusNotification":
            if connector is not None:
                self.stations.setdefault(cp, {})[connector] = {
                    "status": body.get("status"),
                    "error_code": body.get("errorCode"),
                    "info": body.get("info"),
                    "ts": frame.get("ts"),
                }
        if action in ("StartTransaction", "StopTransaction"):
            self.transactions_moved = True
        return {
            "index": index,
            "ts": frame.get("ts"),
            "cp_id": cp,
            "sender": sender,
            "message_type": mtype,
            "unique_id": uid,
            "action": action,
            "connector": connector,
            "payload": payload,
        }

    def _schedule_answer(
        self, connector: int | None, mtype: int, body: dict[str, Any], ts: Any
    ) -> None:
        key = connector if connector is not None else 0
        if mtype == 4:
            status = "CALLERROR " + str(body.get("errorCode"))
            self.schedules[key] = {"connector": key, "received": ts, "status": status}
            return
        self.schedules[key] = {
            "connector": key,
            "received": ts,
            "status": body.get("status"),
            "schedule_start": body.get("scheduleStart"),
            "charging_schedule": body.get("chargingSchedule"),
        }


def transaction_view(txs: list[dict[str, Any]], cid: int, meter_wh: Any) -> dict[str, Any] | None:
    """The connector's current (or last) transaction with the energy so far."""
    mine = [t for t in txs if t.get("connector_id") == cid]
    if not mine:
        return None
    tx = mine[-1]
    active = tx.get("stop_ts") is None
    if active and isinstance(meter_wh, int | float):
        energy = round(meter_wh - tx["meter_start"])
    elif not active and tx.get("meter_stop") is not None:
        energy = tx["meter_stop"] - tx["meter_start"]
    else:
        energy = None
    return {
        "id": tx["id"],
        "id_tag": tx.get("id_tag"),
        "active": active,
        "start_ts": tx.get("start_ts"),
        "stop_ts": tx.get("stop_ts"),
        "stop_reason": tx.get("stop_reason"),
        "meter_start": tx.get("meter_start"),
        "energy_wh": energy,
    }


class Sampler:
    def __init__(self, system: BenchView, live: LiveState, every_s: float = 0.25) -> None:
        self.system = system
        self.live = live
        self.every_s = every_s
        self.trace = TraceReader(system.cp_id)
        self._transactions: list[dict[str, Any]] = []
        self._composite: dict[int, dict[str, Any] | None] = {}
        self._refreshed_at: float | None = None
        self._plugged: dict[str, bool] = {}
        self._last_error: str | None = None

    async def run_forever(self) -> None:
        while True:
            try:
                self.sample()
                self._last_error = None
            except Exception as exc:  # noqa: BLE001 - shown on the panel and logged, not lost
                text = f"{type(exc).__name__}: {exc}"
                if text != self._last_error:
                    log.exception("panel sampler failed")
                self._last_error = text
                with self.live.cond:
                    self.live.snapshot = {**self.live.snapshot, "sampler_error": text}
                self.live.bump()
            await asyncio.sleep(self.every_s)

    def sample(self) -> None:
        frames = self.trace.read(self.system.trace)
        status = self.system.status()
        self._refresh(status.t, status.speed, status.connector_ids, bool(frames))
        snapshot = self._snapshot(status)
        self.live.publish(snapshot, frames, self._points(snapshot))

    def _refresh(self, now: float, speed: float, ids: list[int], moved: bool) -> None:
        due = self._refreshed_at is None or now - self._refreshed_at > REFRESH_SIM_S * speed
        if not (moved or due or self.trace.transactions_moved):
            return
        self._refreshed_at = now
        self.trace.transactions_moved = False
        self._transactions = self.system.transactions()
        self._composite = {cid: self.system.composite_schedule(cid, 24 * 3600) for cid in ids}

    def _charge_points(self, status: Any) -> dict[str, Any]:
        """Every charge point connected or heard from, with its connectors' last status
        (the bench's own first; its connectors are the rig's even before they report)."""
        connected = set(status.connected)
        ids = [status.cp_id] + sorted((connected | set(self.trace.stations)) - {status.cp_id})
        out: dict[str, Any] = {}
        for cp in ids:
            heard = self.trace.stations.get(cp, {})
            cids = sorted(set(heard) | (set(status.connector_ids) if cp == status.cp_id else set()))
            out[cp] = {
                "own": cp == status.cp_id,
                "connected": status.cp_connected if cp == status.cp_id else cp in connected,
                "connectors": {
                    str(c): {
                        "status": heard.get(c, {}).get("status"),
                        "error_code": heard.get(c, {}).get("error_code"),
                    }
                    for c in cids
                    if c > 0
                },
            }
        return out

    def _snapshot(self, status: Any) -> dict[str, Any]:
        rig = status.rig
        connectors: dict[str, Any] = {}
        for cid in status.connector_ids:
            entry: dict[str, Any] = {"id": cid}
            if rig is not None:
                entry.update(rig["connectors"].get(cid, {}))
            last = self.trace.status.get(cid)
            entry["status"] = last["status"] if last else None
            entry["error_code"] = last["error_code"] if last else None
            entry["status_info"] = last["info"] if last else None
            entry["transaction"] = transaction_view(self._transactions, cid, entry.get("meter_wh"))
            connectors[str(cid)] = entry
        parts = [dataclasses.asdict(p) for p in status.parts]
        broken = [p for p in parts if not p["ok"]]
        rig_error = None if rig is not None or not status.simulated else "rig not running"
        if broken and rig_error is None:  # the rig view's error line names them, with the fix
            rig_error = "; ".join(
                f"{p['part']} ({p['where']}): {p['problem']} -> {p['fix']}" for p in broken
            )
        return {
            "t": status.t,
            "speed": status.speed,
            "cp_id": status.cp_id,
            "rig": "simulated" if status.simulated else "real",
            "rig_error": rig_error,
            "parts": parts,
            "sampler_error": None,
            "powered": rig["powered"] if rig is not None else None,
            "link_up": status.link_up,
            "csms_up": status.csms_up,
            "cp_connected": status.cp_connected,
            "agent_running": status.agent_running,
            "agent_pid": status.agent_pid,
            "connectors": connectors,
            "charge_points": self._charge_points(status),
            "schedules": {str(k): v for k, v in self.trace.schedules.items()},
            "composite": {
                str(k): {
                    "source": "csms",
                    "schedule_start": v.get("startSchedule"),
                    "charging_schedule": v,
                }
                for k, v in self._composite.items()
                if v
            },
        }

    def _points(self, snapshot: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        points = []
        for cid, c in snapshot["connectors"].items():
            plugged = bool(c.get("plugged"))
            was = self._plugged.get(cid, False)
            self._plugged[cid] = plugged
            if plugged and not was:
                points.append((cid, {"new_session": True}))
            if plugged and "power_w" in c:
                point = {k: c[k] for k in ("power_w", "current_a", "voltage_v", "soc")}
                points.append((cid, {"t": snapshot["t"], **point}))
        return points
