"""The simulated charge point a ``_CSMS`` case drives: sends what the case says,
answers every CALL with a scripted or a sane default answer."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call

from bench.scenarios.sim_security import CpSecurity
from charger.clock import Clock, iso
from charger.protocol.actions import CSMS_ACTIONS, CSMS_SECURITY_ACTIONS
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.link import Link
from charger.protocol.transport import connect_client

#: The seed CSMS's PICS: "OCPP response timeout: 10s".
RESPONSE_TIMEOUT_S = 10.0
#: How long a case waits for a CALL that an operator action should cause.
OPERATOR_WAIT_S = 30.0
VENDOR = "OCPP-Bench"
MODEL = "Bench-CSMS-Tester"

#: Requests a Central System may send to a charge point (OCPP 1.6 core + optional profiles).


class _NoAnswer:
    def __repr__(self) -> str:
        return "NO_ANSWER"


#: Return this from a scripted answer to leave the CALL unanswered (a charge point that hangs).
NO_ANSWER: Any = _NoAnswer()

Answer = dict[str, Any] | Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class IdTags:
    """The idTags the cases use; the DUT must know them (OCTT's "<Configured ... IdTag>").

    For the local DUT the bench adds them to our CSMS; an external DUT's operator adds
    them and may rename them in the PICS (items ``idtag.valid``, ``idtag.valid2``,
    ``idtag.parent``, ``idtag.invalid``, ``idtag.expired``, ``idtag.blocked``).
    ``invalid`` must be unknown to the DUT.
    """

    valid: str = "BENCH-VALID-0001"
    valid2: str = "BENCH-VALID-0002"
    parent: str = "BENCH-PARENT-01"
    invalid: str = "BENCH-UNKNOWN-01"
    expired: str = "BENCH-EXPIRED-01"
    blocked: str = "BENCH-BLOCKED-01"

    @classmethod
    def from_pics(cls, pics: dict[str, Any]) -> IdTags:
        defaults = cls()
        return cls(
            **{
                name: str(pics.get(f"idtag.{name}", getattr(defaults, name)))
                for name in ("valid", "valid2", "parent", "invalid", "expired", "blocked")
            }
        )


log = logging.getLogger("bench.csms_role")


# --- the charge point's configuration keys ----------------------------------------------


@dataclass
class _Key:
    value: str
    readonly: bool = False
    kind: str = "str"  # int | bool | str | csl


def _default_keys(connectors: int) -> dict[str, _Key]:
    measurands = "Energy.Active.Import.Register"
    return {
        "AllowOfflineTxForUnknownId": _Key("false", kind="bool"),
        "AuthorizationCacheEnabled": _Key("true", kind="bool"),
        "AuthorizeRemoteTxRequests": _Key("true", kind="bool"),
        "ClockAlignedDataInterval": _Key("0", kind="int"),
        "ConnectionTimeOut": _Key("10", kind="int"),
        "ConnectorPhaseRotation": _Key("NotApplicable", kind="csl"),
        "GetConfigurationMaxKeys": _Key("50", readonly=True, kind="int"),
        "HeartbeatInterval": _Key("60", kind="int"),
        "LocalAuthorizeOffline": _Key("true", kind="bool"),
        "LocalPreAuthorize": _Key("false", kind="bool"),
        "MeterValuesAlignedData": _Key(measurands, kind="csl"),
        "MeterValuesSampledData": _Key(measurands, kind="csl"),
        "MeterValueSampleInterval": _Key("30", kind="int"),
        "NumberOfConnectors": _Key(str(connectors), readonly=True, kind="int"),
        "ResetRetries": _Key("1", kind="int"),
        "StopTransactionOnEVSideDisconnect": _Key("true", kind="bool"),
        "StopTransactionOnInvalidId": _Key("true", kind="bool"),
        "StopTxnAlignedData": _Key("", kind="csl"),
        "StopTxnSampledData": _Key(measurands, kind="csl"),
        "SupportedFeatureProfiles": _Key(
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
            "RemoteTrigger",
            readonly=True,
            kind="csl",
        ),
        "TransactionMessageAttempts": _Key("3", kind="int"),
        "TransactionMessageRetryInterval": _Key("10", kind="int"),
        "UnlockConnectorOnEVSideDisconnect": _Key("true", kind="bool"),
        "WebSocketPingInterval": _Key("0", kind="int"),
        "LocalAuthListEnabled": _Key("true", kind="bool"),
        "LocalAuthListMaxLength": _Key("100", readonly=True, kind="int"),
        "SendLocalListMaxLength": _Key("100", readonly=True, kind="int"),
        "ChargeProfileMaxStackLevel": _Key("10", readonly=True, kind="int"),
        "ChargingScheduleAllowedChargingRateUnit": _Key("Current,Power", readonly=True, kind="csl"),
        "ChargingScheduleMaxPeriods": _Key("24", readonly=True, kind="int"),
        "MaxChargingProfilesInstalled": _Key("10", readonly=True, kind="int"),
    }


class CpConfig:
    """The simulated charge point's configuration keys, as GetConfiguration reports them."""

    def __init__(self, connectors: int) -> None:
        self.keys = _default_keys(connectors)

    def get(self, key: str) -> str | None:
        entry = self.keys.get(key)
        return entry.value if entry else None

    def int(self, key: str, default: int = 0) -> int:
        try:
            return int(self.get(key) or default)
        except ValueError:
            return default

    def report(self, wanted: list[str] | None) -> dict[str, Any]:
        names = wanted if wanted else list(self.keys)
        found = [
            {"key": k, "readonly": self.keys[k].readonly, "value": self.keys[k].value}
            for k in names
            if k in self.keys
        ]
        unknown = [k for k in names if k not in self.keys]
        answer: dict[str, Any] = {"configurationKey": found}
        if unknown:
            answer["unknownKey"] = unknown
        return answer

    def change(self, key: str, value: str) -> str:
        entry = self.keys.get(key)
        if entry is None:
            return "NotSupported"
        if entry.readonly:
            return "Rejected"
        if entry.kind == "int" and not (value.isdigit() and int(value) < 2**31):
            return "Rejected"
        if entry.kind == "bool" and value.lower() not in ("true", "false"):
            return "Rejected"
        entry.value = value.lower() if entry.kind == "bool" else value
        return "Accepted"


# --- the charge point --------------------------------------------------------------------


class _CpLink(Link):
    """The charge point's end of the link: CSMS CALLs go to :meth:`SimChargePoint.respond`."""

    def __init__(self, cp: SimChargePoint, connection: Any, **kwargs: Any) -> None:
        super().__init__(cp.cp_id, connection, **kwargs)
        self.cp = cp
        for action in (*CSMS_ACTIONS, *CSMS_SECURITY_ACTIONS):
            self.route_map[action] = {"_on_action": self._placeholder}

    @staticmethod
    def _placeholder(**_: Any) -> None:  # routes only need to exist; _handle_call answers
        return None

    async def _handle_call(self, msg: Call) -> None:
        await validate_payload(msg, "1.6")  # a bad request gets the 1.6 CALLERROR (Link)
        wire = self.inbound_payload(msg.unique_id)
        response, follow_up = await self.cp.respond(msg.action, wire)
        if response is NO_ANSWER:
            return
        result = msg.create_call_result(response)
        result.action = msg.action
        await validate_payload(result, "1.6")
        await self._send(result.to_json())
        if follow_up is not None:
            self.cp.spawn(follow_up)


@dataclass
class _Script:
    answer: Answer
    delay: float = 0.0


class SimChargePoint:
    """An OCPP 1.6-J charge point whose answers a case scripts; it sends only when told to."""

    def __init__(
        self,
        cp_id: str,
        url: str,
        password: str | None,
        clock: Clock,
        on_frame: Callable[..., None],
        *,
        ca_file: str | os.PathLike[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connectors: int = 2,
    ) -> None:
        self.cp_id = cp_id
        self.url = url
        self.password = password
        self.clock = clock
        self.on_frame = on_frame
        self.ca_file = ca_file
        self.ssl_context = ssl_context
        self.connectors = connectors
        self.config = CpConfig(connectors)
        self.scripts: dict[str, _Script] = {}
        self.status: dict[int, str] = dict.fromkeys(range(connectors + 1), "Available")
        self.transactions: dict[int, dict[str, Any]] = {}  # open, by transactionId
        self.meter_wh: dict[int, int] = {c: 10_000 * c for c in range(1, connectors + 1)}
        self.local_list_version = 0
        self.reservations: set[int] = set()
        #: Timestamps with milliseconds, as the seed CSMS's PICS declares it takes them.
        self.milliseconds = True
        self.link: _CpLink | None = None
        self._connection: Any = None
        self._reader: asyncio.Task | None = None
        self._heartbeat: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.errors: list[str] = []  # follow-ups that failed, for the report
        #: Certificates, keys, security log and profile (the whitepaper's side).
        self.security = CpSecurity(self)

    # -- connection ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.link is not None and not self.link.closed

    async def connect(self, timeout: float = 10.0) -> None:
        """Open the WebSocket (Basic auth, ``ocpp1.6``); ``timeout`` in wall seconds."""
        if self.connected:
            return
        connection = await connect_client(
            self.url,
            self.cp_id,
            self.password,
            self.ca_file,
            ssl_context=self.ssl_context,
            open_timeout=timeout,
        )
        self._connection = connection
        self.link = _CpLink(
            self,
            connection,
            on_frame=self.on_frame,
            clock=self.clock,
            response_timeout=3600,  # callers put their own limit on every request
        )
        self._reader = asyncio.create_task(self.link.run())

    async def disconnect(self, abrupt: bool = False) -> None:
        """Close the WebSocket; ``abrupt``: drop the TCP connection (power or network loss)."""
        self.stop_heartbeat()
        link, connection, reader = self.link, self._connection, self._reader
        self.link = self._connection = self._reader = None
        if link is None:
            return
        link.mark_closed()
        if abrupt:
            with contextlib.suppress(Exception):
                connection.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(1000, "bench disconnect"), 5)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.disconnect()
        self.security.close()

    # -- sending ---------------------------------------------------------------------

    async def request(self, payload: Any) -> dict[str, Any]:
        """Send a CALL; the response payload (wire form). Raises the link's errors."""
        if not self.connected:
            raise NotConnected(f"{self.cp_id} is not connected")
        assert self.link is not None
        response = await self.link.request(payload)
        self._observe_sent(payload, response)
        return response

    def _observe_sent(self, payload: Any, response: dict[str, Any]) -> None:
        name = type(payload).__name__
        if name == "StatusNotification":
            self.status[payload.connector_id] = payload.status
        elif name == "StartTransaction" and isinstance(response.get("transactionId"), int):
            self.transactions[response["transactionId"]] = {
                "connector": payload.connector_id,
                "id_tag": payload.id_tag,
                "meter_start": payload.meter_start,
            }
        elif name == "StopTransaction":
            tx = self.transactions.pop(payload.transaction_id, None)
            if tx is not None:
                self.meter_wh[tx["connector"]] = max(
                    self.meter_wh[tx["connector"]], payload.meter_stop
                )

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- heartbeats --------------------------------------------------------------------

    def start_heartbeat(self, interval: int) -> None:
        self.stop_heartbeat()
        if interval > 0:
            self._heartbeat = asyncio.create_task(self._heartbeats(interval))

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def _heartbeats(self, interval: int) -> None:
        while self.connected:
            await self.clock.sleep(interval)
            try:
                await asyncio.wait_for(
                    self.request(call.Heartbeat()), self.clock.wall(RESPONSE_TIMEOUT_S)
                )
            except (NotConnected, CallErrorReceived, TimeoutError, OCPPError) as exc:
                self.errors.append(f"Heartbeat: {type(exc).__name__}: {exc}")
                if isinstance(exc, NotConnected):
                    return

    # -- answering the Central System --------------------------------------------------

    def script(self, action: str, answer: Answer | None, delay: float = 0.0) -> None:
        if action not in CSMS_ACTIONS and action not in CSMS_SECURITY_ACTIONS:
            raise ValueError(f"{action} is not a request a Central System sends")
        if answer is None:
            self.scripts.pop(action, None)
        else:
            self.scripts[action] = _Script(answer, delay)

    async def respond(
        self, action: str, payload: dict[str, Any]
    ) -> tuple[Any, Awaitable[Any] | None]:
        """The answer to a CSMS CALL, and what to send after answering (or None)."""
        scripted = self.scripts.get(action)
        if scripted is not None:
            if scripted.delay:
                await self.clock.sleep(scripted.delay)
            answer = scripted.answer
            if callable(answer):
                answer = answer(payload)
                if inspect.isawaitable(answer):
                    answer = await answer
            return answer, None
        return self.default_answer(action, payload)

    def default_answer(
        self, action: str, p: dict[str, Any]
    ) -> tuple[dict[str, Any], Awaitable[Any] | None]:
        """What a well-behaved charge point with these connectors and keys would answer."""
        n = self.connectors
        if action == "GetConfiguration":
            return self.config.report(p.get("key")), None
        if action in CSMS_SECURITY_ACTIONS:
            return self.security.answer(action, p)
        if action == "ChangeConfiguration":
            security = self.security.change(p["key"], p["value"])
            if security is not None:
                return security
            status = self.config.change(p["key"], p["value"])
            if status == "Accepted" and p["key"] == "HeartbeatInterval" and self._heartbeat:
                self.start_heartbeat(self.config.int("HeartbeatInterval"))
            return {"status": status}, None
        if action == "RemoteStartTransaction":
            connector = p.get("connectorId")
            ok = connector is None or 1 <= connector <= n
            return {"status": "Accepted" if ok else "Rejected"}, None
        if action == "RemoteStopTransaction":
            known = p["transactionId"] in self.transactions
            return {"status": "Accepted" if known else "Rejected"}, None
        if action == "UnlockConnector":
            ok = 1 <= p["connectorId"] <= n
            return {"status": "Unlocked" if ok else "NotSupported"}, None
        if action == "ChangeAvailability":
            connector = p["connectorId"]
            if not 0 <= connector <= n:
                return {"status": "Rejected"}, None
            busy = any(
                tx["connector"] == connector or connector == 0 for tx in self.transactions.values()
            )
            if busy and p["type"] == "Inoperative":
                return {"status": "Scheduled"}, None
            new = "Available" if p["type"] == "Operative" else "Unavailable"
            targets = [connector] if connector else list(range(n + 1))
            return {"status": "Accepted"}, self._send_statuses(targets, new)
        if action == "Reset":
            return {"status": "Accepted"}, None  # a case that wants the reboot does it
        if action == "ClearCache":
            return {"status": "Accepted"}, None
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}, None
        if action == "TriggerMessage":
            return self._trigger(p)
        if action == "GetLocalListVersion":
            return {"listVersion": self.local_list_version}, None
        if action == "SendLocalList":
            self.local_list_version = p["listVersion"]
            return {"status": "Accepted"}, None
        if action == "ReserveNow":
            self.reservations.add(p["reservationId"])
            return {"status": "Accepted"}, None
        if action == "CancelReservation":
            known = p["reservationId"] in self.reservations
            self.reservations.discard(p["reservationId"])
            return {"status": "Accepted" if known else "Rejected"}, None
        if action == "SetChargingProfile":
            return {"status": "Accepted"}, None
        if action == "ClearChargingProfile":
            return {"status": "Accepted"}, None
        if action == "GetCompositeSchedule":
            return {"status": "Rejected"}, None
        if action == "GetDiagnostics":
            return {"fileName": "diagnostics.log"}, None
        if action == "UpdateFirmware":
            return {}, None
        raise AssertionError(f"no default answer for {action}")

    def _trigger(self, p: dict[str, Any]) -> tuple[dict[str, Any], Awaitable[Any] | None]:
        message = p["requestedMessage"]
        connector = p.get("connectorId")
        if connector is not None and not 0 <= connector <= self.connectors:
            return {"status": "Rejected"}, None
        if message == "Heartbeat":
            return {"status": "Accepted"}, self._send(call.Heartbeat())
        if message == "StatusNotification":
            targets = [connector] if connector is not None else sorted(self.status)
            return {"status": "Accepted"}, self._send_statuses(targets, None)
        if message == "BootNotification":
            return {"status": "Accepted"}, self._send(self.boot_payload())
        if message == "MeterValues":
            targets = [connector] if connector else list(self.meter_wh)
            return {"status": "Accepted"}, self._send_meter_values(targets)
        if message == "DiagnosticsStatusNotification":
            return {"status": "Accepted"}, self._send(call.DiagnosticsStatusNotification("Idle"))
        if message == "FirmwareStatusNotification":
            return {"status": "Accepted"}, self._send(call.FirmwareStatusNotification("Idle"))
        return {"status": "NotImplemented"}, None

    def boot_payload(self) -> call.BootNotification:
        return call.BootNotification(
            charge_point_vendor=VENDOR,
            charge_point_model=MODEL,
            charge_point_serial_number="BENCH-0001",
            firmware_version="bench-1.0",
        )

    def now(self, offset: float = 0.0) -> str:
        """An OCPP timestamp ``offset`` simulated seconds from now, UTC, in this CP's format."""
        moment = self.clock.now() + timedelta(seconds=offset)
        if self.milliseconds:
            return iso(moment)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _send(self, payload: Any) -> None:
        try:
            await asyncio.wait_for(self.request(payload), self.clock.wall(RESPONSE_TIMEOUT_S))
        except (NotConnected, CallErrorReceived, TimeoutError, OCPPError) as exc:
            self.errors.append(f"{type(payload).__name__}: {type(exc).__name__}: {exc}")

    async def _send_statuses(self, connectors: list[int], status: str | None) -> None:
        for c in connectors:
            await self._send(
                call.StatusNotification(
                    connector_id=c,
                    error_code="NoError",
                    status=status or self.status.get(c, "Available"),
                    timestamp=self.now(),
                )
            )

    async def _send_meter_values(self, connectors: list[int]) -> None:
        for c in connectors:
            tx = next((i for i, t in self.transactions.items() if t["connector"] == c), None)
            await self._send(
                call.MeterValues(
                    connector_id=c,
                    transaction_id=tx,
                    meter_value=[
                        {
                            "timestamp": self.now(),
                            "sampledValue": [
                                {
                                    "value": str(self.meter_wh[c]),
                                    "context": "Trigger",
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                }
                            ],
                        }
                    ],
                )
            )


# --- the operator ------------------------------------------------------------------------
