"""Answers to charge-point-initiated messages, as plain functions over the store.

Each handler takes ``(store, clock, cp_id, payload)`` with the request payload as on
the wire (camelCase dict) and returns the response payload the same way, so the
logic is testable without sockets. The WebSocket side lives in ``server``.

StartTransaction and StopTransaction are idempotent: a charger that lost the answer
retries the same request and must get the same transactionId, never a second
transaction (OCPP 1.6 4.8/4.10 delivery guarantees for transaction messages).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench.csms.security_handlers import SECURITY_HANDLERS
from bench.csms.store import Store
from charger.charging_profiles import end_transaction
from charger.clock import Clock, iso
from charger.protocol.times import parse_ocpp_time

LOG = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[Store, Clock, str, Payload], Payload]
#: A DataTransfer vendor hook: ``hook(cp_id, messageId, data)`` returns the response
#: payload (``{"status": ..., "data": ...}``) or just its status.
VendorHook = Callable[[str, str | None, str | None], Payload | str]

# SampledValue defaults (OCPP 1.6 7.45). The spec says unit "Wh" for an Energy
# measurand; a reactive energy register is in varh, so that is used for those.
DEFAULT_MEASURAND = "Energy.Active.Import.Register"
DEFAULT_CONTEXT = "Sample.Periodic"
DEFAULT_LOCATION = "Outlet"
DEFAULT_FORMAT = "Raw"


def id_tag_info(store: Store, clock: Clock, id_tag: str) -> Payload:
    """IdTagInfo for ``id_tag``: unknown is Invalid; Accepted past its expiry is Expired."""
    row = store.id_tag(id_tag)
    if row is None:
        return {"status": "Invalid"}
    info: Payload = {"status": row["status"]}
    if row["expiry_date"]:
        info["expiryDate"] = row["expiry_date"]
        if info["status"] == "Accepted" and _parse_ts(row["expiry_date"]) <= clock.now():
            info["status"] = "Expired"
    if row["parent_id_tag"]:
        info["parentIdTag"] = row["parent_id_tag"]
    return info


def boot_notification(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    """Status and interval from the charge point's boot policy (interval = heartbeat)."""
    now = iso(clock.now())
    store.record_boot(cp_id, payload, now)
    cp = store.charge_point(cp_id) or {"boot_policy": "Accepted", "heartbeat_interval": 60}
    return {
        "status": cp["boot_policy"],
        "currentTime": now,
        "interval": cp["heartbeat_interval"],
    }


def heartbeat(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    now = iso(clock.now())
    store.record_heartbeat(cp_id, now)
    return {"currentTime": now}


def status_notification(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    store.add_status(
        cp_id,
        payload["connectorId"],
        payload["status"],
        payload["errorCode"],
        payload.get("info"),
        payload.get("vendorId"),
        payload.get("vendorErrorCode"),
        payload.get("timestamp"),
        iso(clock.now()),
    )
    return {}


def authorize(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    return {"idTagInfo": id_tag_info(store, clock, payload["idTag"])}


def start_transaction(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    """Always a transactionId (even for a rejected idTag: the charger then stops it)."""
    info = id_tag_info(store, clock, payload["idTag"])
    tx_id, created = store.start_transaction(
        cp_id,
        payload["connectorId"],
        payload["idTag"],
        payload["meterStart"],
        payload["timestamp"],
        payload.get("reservationId"),
        info["status"],
        iso(clock.now()),
    )
    if not created:
        LOG.info("%s: StartTransaction retried, same transactionId %s", cp_id, tx_id)
    else:
        _use_reservation(store, cp_id, payload, tx_id, iso(clock.now()))
        _bind_tx_profiles(store, cp_id, payload["connectorId"], tx_id)
    return {"transactionId": tx_id, "idTagInfo": info}


def _use_reservation(store: Store, cp_id: str, payload: Payload, tx_id: int, now: str) -> None:
    """A StartTransaction with a reservationId ends that reservation (OCPP 1.6 5.13)."""
    reservation_id = payload.get("reservationId")
    if reservation_id is None:
        return
    reservation = store.reservation(reservation_id)
    if reservation is None or reservation["cp_id"] != cp_id:
        LOG.warning("%s: StartTransaction for unknown reservation %s", cp_id, reservation_id)
        return
    store.set_reservation_status(reservation_id, "Used", now, tx_id)


def _bind_tx_profiles(store: Store, cp_id: str, connector_id: int, tx_id: int) -> None:
    """A TxProfile sent without a transaction (RemoteStart) now belongs to this one."""
    installed = store.charging_profiles(cp_id)
    changed = False
    for item in installed:
        profile = item["chargingProfile"]
        if (
            profile.get("chargingProfilePurpose") == "TxProfile"
            and profile.get("transactionId") is None
            and item["connectorId"] in (0, connector_id)
        ):
            item["connectorId"] = connector_id
            profile["transactionId"] = tx_id
            changed = True
    if changed:
        store.replace_charging_profiles(cp_id, installed)


def meter_values(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    rows = sample_rows(
        cp_id,
        payload["connectorId"],
        payload.get("transactionId"),
        payload["meterValue"],
        "MeterValues",
    )
    store.add_meter_values(rows)
    return {}


def stop_transaction(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    """Close the transaction; an unknown transactionId is accepted and kept aside."""
    now = iso(clock.now())
    tx_id = payload["transactionId"]
    reason = payload.get("reason", "Local")  # may only be omitted when Local
    tx = store.transaction(tx_id)
    if tx is None or tx["cp_id"] != cp_id:
        LOG.warning("%s: StopTransaction for unknown transaction %s", cp_id, tx_id)
        store.record_unknown_stop(
            cp_id,
            tx_id,
            payload["meterStop"],
            payload["timestamp"],
            reason,
            payload.get("idTag"),
            now,
        )
        connector_id = 0
    else:
        connector_id = tx["connector_id"]
        closed = store.stop_transaction(
            tx_id, payload["meterStop"], payload["timestamp"], reason, payload.get("idTag"), now
        )
        if not closed:
            LOG.info("%s: StopTransaction %s repeated; kept the first", cp_id, tx_id)
        installed = store.charging_profiles(cp_id)
        remaining = end_transaction(installed, tx_id, connector_id)
        if len(remaining) != len(installed):
            store.replace_charging_profiles(cp_id, remaining)
    store.add_meter_values(
        sample_rows(
            cp_id, connector_id, tx_id, payload.get("transactionData", []), "StopTransaction"
        )
    )
    if "idTag" in payload:
        return {"idTagInfo": id_tag_info(store, clock, payload["idTag"])}
    return {}


def data_transfer(
    store: Store,
    clock: Clock,
    cp_id: str,
    payload: Payload,
    hooks: dict[str, VendorHook] | None = None,
) -> Payload:
    """Stored; answered by the hook registered for its vendorId, else UnknownVendorId."""
    _notify(store, clock, cp_id, "DataTransfer", payload.get("messageId"), payload)
    hook = (hooks or {}).get(payload["vendorId"])
    if hook is None:
        return {"status": "UnknownVendorId"}
    try:
        answer = hook(cp_id, payload.get("messageId"), payload.get("data"))
    except Exception:
        LOG.exception("%s: DataTransfer hook for %s failed", cp_id, payload["vendorId"])
        return {"status": "Rejected"}
    if isinstance(answer, str):
        return {"status": answer}
    return dict(answer)


def firmware_status_notification(
    store: Store, clock: Clock, cp_id: str, payload: Payload
) -> Payload:
    """Kept as history; the latest UpdateFirmware's rollout status follows it (not Idle)."""
    now = iso(clock.now())
    _notify(store, clock, cp_id, "FirmwareStatusNotification", payload["status"], payload)
    if payload["status"] != "Idle":
        store.set_firmware_status(cp_id, payload["status"], now)
    return {}


def diagnostics_status_notification(
    store: Store, clock: Clock, cp_id: str, payload: Payload
) -> Payload:
    """Kept as history; the latest GetDiagnostics request follows it (not Idle)."""
    now = iso(clock.now())
    _notify(store, clock, cp_id, "DiagnosticsStatusNotification", payload["status"], payload)
    if payload["status"] != "Idle":
        store.set_diagnostics_status(cp_id, payload["status"], now)
    return {}


def _notify(
    store: Store, clock: Clock, cp_id: str, action: str, status: str | None, payload: Payload
) -> None:
    store.add_notification(cp_id, action, status, payload, iso(clock.now()))


#: Every charge-point-initiated action the bench CSMS answers.
HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "MeterValues": meter_values,
    "StopTransaction": stop_transaction,
    "DataTransfer": data_transfer,
    "FirmwareStatusNotification": firmware_status_notification,
    "DiagnosticsStatusNotification": diagnostics_status_notification,
    # Security extension (whitepaper).
    **SECURITY_HANDLERS,
}


def sample_rows(
    cp_id: str,
    connector_id: int,
    transaction_id: int | None,
    meter_values: list[Payload],
    source: str,
) -> list[Payload]:
    """One store row per sampledValue, with the spec's defaults filled in."""
    rows = []
    for meter_value in meter_values:
        for sv in meter_value["sampledValue"]:
            measurand = sv.get("measurand", DEFAULT_MEASURAND)
            rows.append(
                {
                    "transaction_id": transaction_id,
                    "cp_id": cp_id,
                    "connector_id": connector_id,
                    "ts": meter_value["timestamp"],
                    "measurand": measurand,
                    "value": sv["value"],
                    "unit": sv.get("unit", _default_unit(measurand)),
                    "context": sv.get("context", DEFAULT_CONTEXT),
                    "phase": sv.get("phase"),
                    "location": sv.get("location", DEFAULT_LOCATION),
                    "format": sv.get("format", DEFAULT_FORMAT),
                    "source": source,
                }
            )
    return rows


def _default_unit(measurand: str) -> str | None:
    if measurand.startswith("Energy.Active."):
        return "Wh"
    if measurand.startswith("Energy.Reactive."):
        return "varh"
    return None


def _parse_ts(value: str) -> datetime:
    """ISO 8601 as OCPP sends it; a value without offset is taken as UTC."""
    parsed = parse_ocpp_time(value)
    assert parsed is not None
    return parsed
