"""CSMS-initiated requests: one implementation behind the Python API, the HTTP API and the CLI.

:data:`OPERATIONS` lists every request a 1.6 Central System sends (Core, the optional
profiles and the security extension's, from :mod:`bench.csms.security_ops`).
:meth:`Operations.operate` runs one from its wire payload: it fills what the Central
System decides itself (an UpdateFirmware location from a firmware file name, a GetDiagnostics upload
location, a reservationId and expiry, a local list and its version, a TxProfile's
transactionId), checks the request against the OCPP 1.6 schema, sends it, logs it
in the ``operations`` table and keeps what the answer means (reservations, the local
list, installed charging profiles, firmware rollouts, the composite-schedule check).

The Python methods (``reserve_now``, ``update_firmware``, ...) take snake_case
arguments and return the response as on the wire: the CALLRESULT's JSON object
with its camelCase keys (``{"status": "Accepted"}``), the same form the trace and
``wait_for`` give; a charging profile is passed as its camelCase JSON object. Every
method raises ``NotConnected`` if the charge point has no open connection,
``CallErrorReceived`` (with ``.code``) if it answers with a CALLERROR,
``TimeoutError`` if it does not answer within the response timeout, and
:class:`OperationError` for a request that cannot be sent as given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.v16 import call

from bench.csms.operation_types import Operation, OperationError, Payload, UnknownOperation
from bench.csms.security_ops import SECURITY_OPERATIONS
from bench.security.redact import redact, redact_text
from charger.charging_profiles import (
    Transaction,
    check_profile,
    clear,
    compare_schedules,
    composite_schedule,
    install,
    parse_time,
)
from charger.clock import Clock, iso
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.frames import schema_violation

if TYPE_CHECKING:
    from bench.csms.store import Store
    from bench.ftp import FtpServer

LOG = logging.getLogger(__name__)

#: A reservation made without an expiry lasts this long (simulated seconds).
DEFAULT_RESERVATION_S = 3600


OPERATIONS: dict[str, Operation] = {
    op.action: op
    for op in (
        Operation(
            "CancelReservation", "cancel_reservation", "Cancel a reservation.", "Reservation"
        ),
        Operation(
            "ChangeAvailability",
            "change_availability",
            "Make a connector (0: the charge point) Operative or Inoperative.",
            "Core",
        ),
        Operation(
            "ChangeConfiguration",
            "change_configuration",
            "Set a configuration key. AuthorizationKey without a value: the CSMS generates a "
            "new key (the old one stays valid until the charge point reconnects with it); "
            "SecurityProfile only upwards.",
            "Core",
            fills=("value",),
        ),
        Operation("ClearCache", "clear_cache", "Clear the authorization cache.", "Core"),
        Operation(
            "ClearChargingProfile",
            "clear_charging_profile",
            "Clear charging profiles by id, by criteria, or all (no field).",
            "SmartCharging",
        ),
        Operation("DataTransfer", "data_transfer", "Send a vendor-specific message.", "Core"),
        Operation(
            "GetCompositeSchedule",
            "get_composite_schedule",
            "Ask for the composite schedule; the CSMS compares it with its own prediction.",
            "SmartCharging",
        ),
        Operation(
            "GetConfiguration",
            "get_configuration",
            "Read configuration keys (none: all); the CSMS keeps what is reported.",
            "Core",
        ),
        Operation(
            "GetDiagnostics",
            "get_diagnostics",
            "Ask for a diagnostics upload; without a location, to the CSMS's FTP server.",
            "FirmwareManagement",
            fills=("location",),
        ),
        Operation(
            "GetLocalListVersion",
            "get_local_list_version",
            "Read the local authorization list version.",
            "LocalAuthListManagement",
        ),
        Operation(
            "RemoteStartTransaction",
            "remote_start",
            "Start a transaction (optionally with a TxProfile).",
            "Core",
        ),
        Operation(
            "RemoteStopTransaction",
            "remote_stop",
            "Stop a transaction (an unknown id is forwarded as is).",
            "Core",
        ),
        Operation(
            "ReserveNow",
            "reserve_now",
            "Reserve a connector (0: any); reservationId, expiry and parentIdTag are filled.",
            "Reservation",
            fills=("reservationId", "expiryDate"),
            extras={
                "expiresIn": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Seconds until expiryDate, when that is not given "
                    f"(default {DEFAULT_RESERVATION_S}).",
                }
            },
        ),
        Operation("Reset", "reset", "Soft or Hard reset.", "Core"),
        Operation(
            "SendLocalList",
            "send_local_list",
            "Send the local list (Full or Differential); version and entries are filled "
            "from the CSMS's idTags when left out.",
            "LocalAuthListManagement",
            fills=("listVersion", "updateType"),
        ),
        Operation(
            "SetChargingProfile",
            "set_charging_profile",
            "Install a charging profile (a TxProfile gets the running transaction's id).",
            "SmartCharging",
        ),
        Operation(
            "TriggerMessage",
            "trigger_message",
            "Make the charge point send a message now.",
            "RemoteTrigger",
        ),
        Operation("UnlockConnector", "unlock_connector", "Unlock a connector.", "Core"),
        Operation(
            "UpdateFirmware",
            "update_firmware",
            "Update the firmware; give a firmware file name from the CSMS's store and the "
            "CSMS builds the ftp:// location.",
            "FirmwareManagement",
            fills=("location", "retrieveDate"),
            extras={
                "firmware": {
                    "type": "string",
                    "description": "A file name in the CSMS's firmware store (instead of "
                    "location).",
                }
            },
        ),
        *SECURITY_OPERATIONS,
    )
}

BY_METHOD = {op.method: op for op in OPERATIONS.values()}
# The security extension's operations are implemented in ``bench.csms.security_ops``.


@dataclass
class Outcome:
    """One operation as it went: the request as sent, the response as received."""

    action: str
    request: Payload
    response: Payload
    notes: Payload = field(default_factory=dict)

    def to_json(self) -> Payload:
        return {
            "action": self.action,
            "request": self.request,
            "response": self.response,
            "notes": self.notes,
        }


def operation(action: str) -> Operation:
    """The operation for a wire action name ("ReserveNow") or a method name ("reserve_now")."""
    found = OPERATIONS.get(action) or BY_METHOD.get(action)
    if found is None:
        raise UnknownOperation(
            f"{action!r} is not a request a Central System sends; one of: " + ", ".join(OPERATIONS)
        )
    return found


def _wire(**fields: Any) -> Payload:
    """camelCase keys, None left out, datetimes as OCPP timestamps."""
    out = {}
    for key, value in fields.items():
        if value is None:
            continue
        head, *rest = key.split("_")
        name = head + "".join(part.title() for part in rest)
        out[name] = iso(value) if isinstance(value, datetime) else value
    return out


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value)
    parsed = parse_time(value)
    if parsed is None:
        raise OperationError(f"not a date-time: {value!r}")
    return value


class Operations:
    """Every CSMS-initiated request; mixed into ``CentralSystem`` (which gives the attributes)."""

    store: Store
    clock: Clock

    async def call(
        self, cp_id: str, payload: Any, *, skip_schema_validation: bool = False
    ) -> dict[str, Any]:
        raise NotImplementedError

    def ftp_server(self) -> FtpServer:
        raise OperationError("this Central System has no FTP server")

    # -- the one implementation ------------------------------------------------------------

    async def operate(self, cp_id: str, action: str, payload: Payload | None = None) -> Outcome:
        """Send ``action`` with this wire payload (what the CSMS fills may be left out)."""
        op = operation(action)
        payload = dict(payload or {})
        _check_fields(op, payload)
        prepare = getattr(self, f"_prepare_{op.method}", None)
        notes: Payload = {}
        request = prepare(cp_id, payload, notes) if prepare else payload
        problem = schema_violation(op.action, request)
        if problem is not None:
            where = problem.details.get("path")
            raise OperationError(
                f"{op.action}: {problem.details.get('cause')}" + (f" (at {where})" if where else "")
            )
        now = iso(self.clock.now())
        op_id = self.store.add_operation(cp_id, op.action, redact(request), now)
        try:
            message = getattr(call, op.action)(**camel_to_snake_case(request))
            response = await self.call(cp_id, message)
        except BaseException as exc:
            error = _error_name(exc)
            self.store.finish_operation(op_id, None, error, iso(self.clock.now()))
            failed = getattr(self, f"_failed_{op.method}", None)
            if failed:
                failed(cp_id, request, notes, error)
            raise
        self.store.finish_operation(op_id, response, None, iso(self.clock.now()))
        after = getattr(self, f"_after_{op.method}", None)
        if after:
            after(cp_id, request, response, notes)
        return Outcome(op.action, redact(request), response, notes)

    # -- Core ------------------------------------------------------------------------------

    async def remote_start(
        self,
        cp_id: str,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "RemoteStartTransaction",
            id_tag=id_tag,
            connector_id=connector_id,
            charging_profile=charging_profile,
        )

    async def remote_stop(self, cp_id: str, transaction_id: int) -> dict[str, Any]:
        return await self._run(cp_id, "RemoteStopTransaction", transaction_id=transaction_id)

    async def get_configuration(self, cp_id: str, keys: list[str] | None = None) -> dict[str, Any]:
        return await self._run(cp_id, "GetConfiguration", key=keys)

    async def change_configuration(
        self, cp_id: str, key: str, value: str | None = None
    ) -> dict[str, Any]:
        """Set ``key``; AuthorizationKey without ``value`` gets a new random key."""
        return await self._run(cp_id, "ChangeConfiguration", key=key, value=value)

    async def reset(self, cp_id: str, kind: str = "Soft") -> dict[str, Any]:
        """``kind`` is ResetType: "Soft" or "Hard"."""
        return await self._run(cp_id, "Reset", type=kind)

    async def trigger_message(
        self, cp_id: str, requested_message: str, connector_id: int | None = None
    ) -> dict[str, Any]:
        """``requested_message`` is a MessageTrigger, e.g. "StatusNotification"."""
        return await self._run(
            cp_id, "TriggerMessage", requested_message=requested_message, connector_id=connector_id
        )

    async def change_availability(self, cp_id: str, connector_id: int, kind: str) -> dict[str, Any]:
        """``kind`` is AvailabilityType: "Operative" or "Inoperative"; connector 0 = all."""
        return await self._run(cp_id, "ChangeAvailability", connector_id=connector_id, type=kind)

    async def unlock_connector(self, cp_id: str, connector_id: int) -> dict[str, Any]:
        return await self._run(cp_id, "UnlockConnector", connector_id=connector_id)

    async def clear_cache(self, cp_id: str) -> dict[str, Any]:
        return await self._run(cp_id, "ClearCache")

    async def data_transfer(
        self,
        cp_id: str,
        vendor_id: str,
        message_id: str | None = None,
        data: str | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id, "DataTransfer", vendor_id=vendor_id, message_id=message_id, data=data
        )

    # -- Reservation ---------------------------------------------------------------------------

    async def reserve_now(
        self,
        cp_id: str,
        connector_id: int,
        id_tag: str,
        expiry_date: datetime | str | None = None,
        reservation_id: int | None = None,
        parent_id_tag: str | None = None,
        expires_in: int | None = None,
    ) -> dict[str, Any]:
        """Reserve ``connector_id`` (0: the charge point) for ``id_tag``.

        Without ``reservation_id`` the CSMS takes the next free one; without
        ``expiry_date`` the reservation lasts ``expires_in`` seconds (default an hour);
        without ``parent_id_tag`` the idTag's parent in the CSMS is sent, if it has one.
        """
        return await self._run(
            cp_id,
            "ReserveNow",
            connector_id=connector_id,
            id_tag=id_tag,
            expiry_date=expiry_date,
            reservation_id=reservation_id,
            parent_id_tag=parent_id_tag,
            expires_in=expires_in,
        )

    async def cancel_reservation(self, cp_id: str, reservation_id: int) -> dict[str, Any]:
        return await self._run(cp_id, "CancelReservation", reservation_id=reservation_id)

    def _prepare_reserve_now(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        expires_in = p.pop("expiresIn", None)
        if "reservationId" not in p:
            p["reservationId"] = self.store.next_reservation_id()
        if "expiryDate" not in p:
            seconds = DEFAULT_RESERVATION_S if expires_in is None else int(expires_in)
            p["expiryDate"] = iso(self.clock.now() + timedelta(seconds=seconds))
        else:
            p["expiryDate"] = _when(p["expiryDate"])
        if "parentIdTag" not in p and isinstance(p.get("idTag"), str):
            tag = self.store.id_tag(p["idTag"])
            if tag and tag["parent_id_tag"]:
                p["parentIdTag"] = tag["parent_id_tag"]
        if _is_int(p.get("reservationId")) and _is_int(p.get("connectorId")):
            # Recorded before sending: the StartTransaction using it may come before
            # the ReserveNow.conf is processed.
            self.store.put_reservation(
                p["reservationId"],
                cp_id,
                p["connectorId"],
                str(p.get("idTag")),
                p.get("parentIdTag"),
                p["expiryDate"],
                "Requested",
                iso(self.clock.now()),
            )
        notes["reservationId"] = p.get("reservationId")
        return p

    def _after_reserve_now(self, cp_id: str, req: Payload, res: Payload, notes: Payload) -> None:
        current = self.store.reservation(req["reservationId"])
        if current is not None and current["status"] == "Requested":
            self.store.set_reservation_status(req["reservationId"], res.get("status", "Rejected"))

    def _failed_reserve_now(self, cp_id: str, req: Payload, notes: Payload, error: str) -> None:
        current = self.store.reservation(req["reservationId"])
        if current is not None and current["status"] == "Requested":
            self.store.set_reservation_status(req["reservationId"], f"NotSent: {error}")

    def _after_cancel_reservation(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        if res.get("status") == "Accepted":
            self.store.set_reservation_status(
                req["reservationId"], "Cancelled", iso(self.clock.now())
            )

    def reservations(self, cp_id: str | None = None, active: bool = False) -> list[dict[str, Any]]:
        """Reservations with their state now: an Accepted one past its expiry is Expired."""
        now = self.clock.now()
        rows = []
        for row in self.store.reservations(cp_id):
            expiry = parse_time(row["expiry_date"])
            if row["status"] == "Accepted" and expiry is not None and expiry <= now:
                row["status"] = "Expired"
            row["active"] = row["status"] == "Accepted"
            if not active or row["active"]:
                rows.append(row)
        return rows

    # -- Local authorization list -----------------------------------------------------------------

    async def send_local_list(
        self,
        cp_id: str,
        update_type: str = "Full",
        local_authorization_list: list[dict[str, Any]] | None = None,
        list_version: int | None = None,
    ) -> dict[str, Any]:
        """SendLocalList; without a list: Full = every idTag of the CSMS, Differential =
        what changed since the list the charge point last accepted. Without a version:
        one more than the last known."""
        return await self._run(
            cp_id,
            "SendLocalList",
            update_type=update_type,
            local_authorization_list=local_authorization_list,
            list_version=list_version,
        )

    async def get_local_list_version(self, cp_id: str) -> dict[str, Any]:
        return await self._run(cp_id, "GetLocalListVersion")

    def desired_local_list(self) -> dict[str, Payload]:
        """idTag -> idTagInfo for every idTag the CSMS knows (what a Full update sends)."""
        out = {}
        for row in self.store.id_tags():
            info: Payload = {"status": row["status"]}
            if row["expiry_date"]:
                info["expiryDate"] = row["expiry_date"]
            if row["parent_id_tag"]:
                info["parentIdTag"] = row["parent_id_tag"]
            out[row["id_tag"]] = info
        return out

    def _prepare_send_local_list(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        p.setdefault("updateType", "Full")
        known = self.store.local_list(cp_id)
        if "listVersion" not in p:
            p["listVersion"] = max(known["version"] or 0, known["reported_version"] or 0) + 1
        if "localAuthorizationList" not in p:
            desired = self.desired_local_list()
            if p["updateType"] == "Full":
                entries = [{"idTag": t, "idTagInfo": i} for t, i in desired.items()]
            else:
                held = known["entries"]
                entries = [
                    {"idTag": t, "idTagInfo": i} for t, i in desired.items() if held.get(t) != i
                ]
                entries += [{"idTag": t} for t in held if t not in desired]
            p["localAuthorizationList"] = entries
        notes["entries"] = len(p["localAuthorizationList"])
        return p

    def _after_send_local_list(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        known = self.store.local_list(cp_id)
        status = res.get("status", "")
        now = iso(self.clock.now())
        if status != "Accepted":
            self.store.save_local_list(
                cp_id, known["version"], known["entries"], req["updateType"], status, now
            )
            return
        entries = {} if req["updateType"] == "Full" else dict(known["entries"])
        for item in req.get("localAuthorizationList", []):
            if "idTagInfo" in item:
                entries[item["idTag"]] = item["idTagInfo"]
            else:
                entries.pop(item["idTag"], None)
        self.store.save_local_list(
            cp_id, req["listVersion"], entries, req["updateType"], status, now
        )

    def _after_get_local_list_version(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        if isinstance(res.get("listVersion"), int):
            self.store.record_local_list_version(cp_id, res["listVersion"], iso(self.clock.now()))

    # -- Smart charging --------------------------------------------------------------------------

    async def set_charging_profile(
        self, cp_id: str, connector_id: int, charging_profile: dict[str, Any]
    ) -> dict[str, Any]:
        """``charging_profile`` is the csChargingProfiles object (camelCase)."""
        return await self._run(
            cp_id,
            "SetChargingProfile",
            connector_id=connector_id,
            cs_charging_profiles=charging_profile,
        )

    async def clear_charging_profile(
        self,
        cp_id: str,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "ClearChargingProfile",
            id=id,
            connector_id=connector_id,
            charging_profile_purpose=charging_profile_purpose,
            stack_level=stack_level,
        )

    async def get_composite_schedule(
        self,
        cp_id: str,
        connector_id: int,
        duration: int,
        charging_rate_unit: str | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "GetCompositeSchedule",
            connector_id=connector_id,
            duration=duration,
            charging_rate_unit=charging_rate_unit,
        )

    def charging_profiles(self, cp_id: str) -> list[dict[str, Any]]:
        """The profiles the charge point accepted and has not cleared, as we know it."""
        return self.store.charging_profiles(cp_id)

    def composite_checks(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        """Each GetCompositeSchedule answer against the CSMS's prediction (``ok``, ``problems``)."""
        return self.store.composite_checks(cp_id)

    def predict_composite(
        self,
        cp_id: str,
        connector_id: int,
        duration: int,
        charging_rate_unit: str | None = None,
        start: datetime | str | None = None,
    ) -> dict[str, Any]:
        """The ChargingSchedule the charge point should report, from the profiles we sent."""
        begin = parse_time(start) if start is not None else self.clock.now()
        transaction = None
        if connector_id > 0:
            open_tx = self.store.open_transaction(cp_id, connector_id)
            if open_tx is not None:
                transaction = Transaction(
                    start=parse_time(open_tx["start_ts"]) or begin,
                    transaction_id=open_tx["id"],
                )
        return composite_schedule(
            self.charging_profiles(cp_id),
            connector_id,
            begin,
            duration,
            charging_rate_unit,
            transaction=transaction,
        )

    def _prepare_set_charging_profile(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        profile = p.get("csChargingProfiles")
        connector = p.get("connectorId")
        if isinstance(profile, dict) and _is_int(connector):
            if (
                profile.get("chargingProfilePurpose") == "TxProfile"
                and "transactionId" not in profile
            ):
                open_tx = self.store.open_transaction(cp_id, connector)
                if open_tx is not None:
                    p["csChargingProfiles"] = profile = {**profile, "transactionId": open_tx["id"]}
                    notes["transactionId"] = open_tx["id"]
            warnings = check_profile(profile, connector)
            if warnings:
                notes["warnings"] = warnings
        return p

    def _after_set_charging_profile(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        if res.get("status") == "Accepted":
            installed = install(
                self.store.charging_profiles(cp_id),
                req["connectorId"],
                req["csChargingProfiles"],
                self.clock.now(),
            )
            self.store.replace_charging_profiles(cp_id, installed)

    def _after_clear_charging_profile(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        if res.get("status") == "Accepted":
            kept, removed = clear(
                self.store.charging_profiles(cp_id),
                req.get("id"),
                req.get("connectorId"),
                req.get("chargingProfilePurpose"),
                req.get("stackLevel"),
            )
            self.store.replace_charging_profiles(cp_id, kept)
            notes["cleared"] = [i["chargingProfile"].get("chargingProfileId") for i in removed]

    def _after_get_composite_schedule(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        connector = req["connectorId"]
        relevant = [i for i in self.charging_profiles(cp_id) if i["connectorId"] in (0, connector)]
        reported = res.get("chargingSchedule")
        problems: list[str] = []
        expected = None
        if res.get("status") != "Accepted" or not isinstance(reported, dict):
            if relevant:
                problems.append(
                    f"the charge point answered {res.get('status')} without a schedule, but "
                    f"{len(relevant)} profile(s) apply to connector {connector}"
                )
        else:
            start = res.get("scheduleStart") or reported.get("startSchedule")
            expected = self.predict_composite(
                cp_id,
                connector,
                req["duration"],
                req.get("chargingRateUnit") or reported.get("chargingRateUnit"),
                start,
            )
            if expected["chargingSchedulePeriod"]:
                problems = compare_schedules(expected, reported, reported_start=start)
            else:
                notes["composite_check_note"] = "no profile of ours applies: nothing to compare"
        self.store.add_composite_check(
            cp_id, connector, iso(self.clock.now()), expected, res, problems
        )
        if problems:
            LOG.warning(
                "%s: composite schedule of connector %s differs from ours: %s",
                cp_id,
                connector,
                "; ".join(problems),
            )
        notes["composite_check"] = {"ok": not problems, "problems": problems, "expected": expected}

    def _prepare_remote_start(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        profile = p.get("chargingProfile")
        if isinstance(profile, dict):
            warnings = check_profile(profile, p.get("connectorId"))
            if profile.get("chargingProfilePurpose") != "TxProfile":
                warnings.append("RemoteStartTransaction takes a TxProfile (OCPP 1.6 5.11)")
            if warnings:
                notes["warnings"] = warnings
        return p

    def _after_remote_start(self, cp_id: str, req: Payload, res: Payload, notes: Payload) -> None:
        profile = req.get("chargingProfile")
        if res.get("status") == "Accepted" and isinstance(profile, dict):
            # Bound to the transaction when its StartTransaction comes.
            installed = install(
                self.store.charging_profiles(cp_id),
                req.get("connectorId", 0),
                profile,
                self.clock.now(),
            )
            self.store.replace_charging_profiles(cp_id, installed)

    # -- Firmware management -----------------------------------------------------------------------

    async def update_firmware(
        self,
        cp_id: str,
        firmware: str | None = None,
        location: str | None = None,
        retrieve_date: datetime | str | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
    ) -> dict[str, Any]:
        """UpdateFirmware of ``firmware`` (a file in the CSMS's store: the CSMS builds the
        ftp:// location) or of an explicit ``location``; retrieveDate defaults to now."""
        return await self._run(
            cp_id,
            "UpdateFirmware",
            firmware=firmware,
            location=location,
            retrieve_date=retrieve_date,
            retries=retries,
            retry_interval=retry_interval,
        )

    async def get_diagnostics(
        self,
        cp_id: str,
        location: str | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: datetime | str | None = None,
        stop_time: datetime | str | None = None,
    ) -> dict[str, Any]:
        """GetDiagnostics; without ``location`` the upload goes to the CSMS's FTP server."""
        return await self._run(
            cp_id,
            "GetDiagnostics",
            location=location,
            retries=retries,
            retry_interval=retry_interval,
            start_time=start_time,
            stop_time=stop_time,
        )

    def firmware_rollout(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        """Per charge point: its latest UpdateFirmware and the statuses reported since."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self.store.firmware_updates(cp_id):
            latest[row["cp_id"]] = row
        out = []
        for cp, row in sorted(latest.items()):
            history = [
                {"status": n["status"], "received_ts": n["received_ts"]}
                for n in self.store.notifications(cp, "FirmwareStatusNotification")
                if n["received_ts"] >= row["requested_ts"]
            ]
            status = row["status"]
            out.append(
                {
                    "cp_id": cp,
                    "firmware": row["firmware"],
                    "location": redact_text(row["location"]),
                    "retrieve_date": row["retrieve_date"],
                    "requested_ts": row["requested_ts"],
                    "status": status,
                    "status_ts": row["status_ts"],
                    "done": status == "Installed",
                    "failed": status in ("DownloadFailed", "InstallationFailed")
                    or status.startswith("NotSent"),
                    "history": history,
                }
            )
        return out

    def _prepare_update_firmware(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        firmware = p.pop("firmware", None)
        if firmware is not None:
            if "location" in p:
                raise OperationError("UpdateFirmware: give firmware or location, not both")
            try:
                p["location"] = self.ftp_server().firmware_location(str(firmware))
            except ValueError as exc:
                raise OperationError(f"UpdateFirmware: {exc}") from None
        if "location" not in p:
            raise OperationError("UpdateFirmware needs a firmware file name or a location")
        p["retrieveDate"] = (
            _when(p["retrieveDate"]) if "retrieveDate" in p else iso(self.clock.now())
        )
        notes["firmware"] = firmware
        notes["update_id"] = self.store.add_firmware_update(
            cp_id,
            firmware,
            redact_text(str(p["location"])),  # the database keeps no FTP password
            p["retrieveDate"],
            "Requested",
            iso(self.clock.now()),
        )
        return p

    def _failed_update_firmware(self, cp_id: str, req: Payload, notes: Payload, error: str):
        self.store.set_firmware_status(
            cp_id, f"NotSent: {error}", iso(self.clock.now()), notes["update_id"]
        )

    def _prepare_get_diagnostics(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        if "location" not in p:
            p["location"] = self.ftp_server().diagnostics_location()
        for key in ("startTime", "stopTime"):
            if key in p:
                p[key] = _when(p[key])
        notes["request_id"] = self.store.add_diagnostics_request(
            cp_id, redact_text(str(p["location"])), "Requested", iso(self.clock.now())
        )
        return p

    def _after_get_diagnostics(self, cp_id: str, req: Payload, res: Payload, notes: Payload):
        name = res.get("fileName")
        current = [
            r for r in self.store.diagnostics_requests(cp_id) if r["id"] == notes["request_id"]
        ]
        status = current[0]["status"] if current else "Requested"
        if not name and status == "Requested":
            status = "NoFile"  # the charge point has no diagnostics to upload
        self.store.set_diagnostics_status(
            cp_id, status, iso(self.clock.now()), notes["request_id"], name
        )
        notes["fileName"] = name

    def _failed_get_diagnostics(self, cp_id: str, req: Payload, notes: Payload, error: str):
        self.store.set_diagnostics_status(
            cp_id, f"NotSent: {error}", iso(self.clock.now()), notes["request_id"]
        )

    # -- configuration as reported ---------------------------------------------------------------

    def _after_get_configuration(self, cp_id: str, req: Payload, res: Payload, notes: Payload):
        keys = res.get("configurationKey") or []
        if keys:
            self.store.record_configuration(cp_id, keys, iso(self.clock.now()))

    def _after_change_configuration(self, cp_id: str, req: Payload, res: Payload, notes: Payload):
        if res.get("status") in ("Accepted", "RebootRequired"):
            self.store.record_configuration(
                cp_id, redact([{"key": req["key"], "value": req["value"]}]), iso(self.clock.now())
            )

    # -- plumbing --------------------------------------------------------------------------------

    async def _run(self, cp_id: str, action: str, **fields: Any) -> dict[str, Any]:
        outcome = await self.operate(cp_id, action, _wire(**fields))
        return outcome.response


def _check_fields(op: Operation, payload: Payload) -> None:
    from bench.csms.openapi import request_schema  # the same schema the API documents

    schema = request_schema(op)
    unknown = sorted(set(payload) - set(schema.get("properties", {})))
    if unknown:
        raise OperationError(
            f"{op.action}: unknown field(s) {', '.join(unknown)}; known: "
            + ", ".join(schema.get("properties", {}))
        )


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, NotConnected):
        return "NotConnected"
    if isinstance(exc, CallErrorReceived):
        return f"CALLERROR {exc.code}"
    if isinstance(exc, TimeoutError):
        return "Timeout"
    return type(exc).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
