"""The bench as a charge point, for the ``_CSMS`` cases: the device under test is a CSMS.

Three parts:

* :class:`SimChargePoint` - an OCPP 1.6-J charge point on :class:`charger.protocol.link.Link`.
  It sends what a case tells it to (``request``) and answers every CALL from the
  Central System: with the answer a case scripted for that action, or else with a
  sane default (its own configuration keys, connectors and transactions).
* :class:`Operator` - what a lab operator does at the Central System's console during a
  case ("make the CSMS send RemoteStartTransaction"). For our own CSMS (the local DUT)
  that is its Python API; for an external DUT it is an operator hook, and without one
  the case ends with verdict *error* saying which action was needed.
* :class:`CsmsBench` / :class:`CsmsHandle` - what the runner starts per case and the
  handle a case drives: ``send``/``answer``/``expect_call``, the OCTT reusable states
  (``booted``, ``authorized``, ``charging``) and ``t.operator``.

Every frame the charge point's link sees goes into ``CsmsBench.trace`` as
``{ts, sender, message_type, unique_id, action, payload}``: ``sender`` is ``"dut"`` for
frames from the Central System, ``ts`` the simulated Unix time of the bench clock, and
payloads are as on the wire. Timestamps the charge point sends carry milliseconds.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import inspect
import json
import logging
import os
import secrets
import shlex
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, validate_payload
from ocpp.v16 import call
from websockets.exceptions import InvalidStatus, WebSocketException

from bench.ports import Ports
from bench.scenarios.handle import BaseHandle, ScenarioFailed, ScenarioTimedOut
from bench.scenarios.security_console import SecurityConsole
from bench.scenarios.sim_security import CpSecurity, Endpoint
from charger.clock import Clock, iso
from charger.protocol.actions import CSMS_ACTIONS, CSMS_SECURITY_ACTIONS
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.frames import CALL, CALLERROR
from charger.protocol.link import Link
from charger.protocol.times import ocpp_time_or_none
from charger.protocol.transport import connect_client

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem
    from bench.scenarios.runner import RunOptions

log = logging.getLogger("bench.csms_role")

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


class OperatorActionUnavailable(RuntimeError):
    """A case needs an operator action on an external DUT and no operator hook is set."""


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


OperatorHook = Callable[[str, dict[str, Any]], Awaitable[Any]]


class OperatorRequest:
    """One operator action in progress; :meth:`outcome` is what the DUT reported back.

    For the local DUT that is the charge point's response as our CSMS received it; for
    an external DUT driven by a hook, whatever the hook returned (often None).
    """

    def __init__(self, action: str, params: dict[str, Any], task: asyncio.Future) -> None:
        self.action = action
        self.params = params
        self.task = task

    @property
    def failed(self) -> str | None:
        """Why the DUT refused or failed the action, once that is known."""
        if not self.task.done() or self.task.cancelled():
            return None
        exc = self.task.exception()
        return f"{type(exc).__name__}: {exc}" if exc else None

    async def outcome(self, within: float = 10.0, clock: Clock | None = None) -> Any:
        wall = clock.wall(within) if clock else within
        try:
            return await asyncio.wait_for(asyncio.shield(self.task), wall)
        except TimeoutError:
            raise ScenarioTimedOut(
                f"operator action {self.action} {self.params}: the CSMS reported no result "
                f"within {within:g} s"
            ) from None
        except CallErrorReceived as exc:
            return {"callError": exc.code}
        except (NotConnected, OCPPError) as exc:
            raise ScenarioFailed(
                f"operator action {self.action} {self.params}: the CSMS failed: {exc}"
            ) from None

    def cancel(self) -> None:
        self.task.cancel()


class Operator(SecurityConsole):
    """The Central System operator: one method per console action a case may ask for.

    Each method hands the action to the DUT and returns an :class:`OperatorRequest`
    without waiting for the charge point's answer; the case then waits for the CALL on
    the wire (``t.expect_call``). ``local`` is True when the DUT is our own CSMS.
    """

    local = False

    def __init__(self, cp_id: str, clock: Clock) -> None:
        self.cp_id = cp_id
        self.clock = clock
        self.requests: list[OperatorRequest] = []

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        raise NotImplementedError

    async def remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
    ) -> OperatorRequest:
        return await self._do(
            "remote_start",
            id_tag=id_tag,
            connector_id=connector_id,
            charging_profile=charging_profile,
        )

    async def remote_stop(self, transaction_id: int) -> OperatorRequest:
        return await self._do("remote_stop", transaction_id=transaction_id)

    async def reset(self, kind: str = "Soft") -> OperatorRequest:
        return await self._do("reset", kind=kind)

    async def unlock(self, connector_id: int) -> OperatorRequest:
        return await self._do("unlock_connector", connector_id=connector_id)

    async def change_availability(self, connector_id: int, kind: str) -> OperatorRequest:
        return await self._do("change_availability", connector_id=connector_id, kind=kind)

    async def get_configuration(self, keys: list[str] | None = None) -> OperatorRequest:
        return await self._do("get_configuration", keys=keys)

    async def change_configuration(self, key: str, value: str) -> OperatorRequest:
        return await self._do("change_configuration", key=key, value=value)

    async def clear_cache(self) -> OperatorRequest:
        return await self._do("clear_cache")

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> OperatorRequest:
        return await self._do(
            "data_transfer", vendor_id=vendor_id, message_id=message_id, data=data
        )

    async def trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> OperatorRequest:
        return await self._do(
            "trigger_message", requested_message=requested_message, connector_id=connector_id
        )

    async def call(self, payload: Any) -> OperatorRequest:
        """Any other console action: make the CSMS send this ``ocpp.v16.call`` request."""
        return await self._do("call", payload=payload)

    # -- optional profiles: local list, firmware, reservation, smart charging ---------------

    async def get_local_list_version(self) -> OperatorRequest:
        return await self._do("get_local_list_version")

    async def send_local_list(
        self,
        update_type: str = "Full",
        local_authorization_list: list[dict[str, Any]] | None = None,
        list_version: int | None = None,
    ) -> OperatorRequest:
        """Without a list or version the DUT chooses them (ours: its idTags, version + 1)."""
        return await self._do(
            "send_local_list",
            update_type=update_type,
            local_authorization_list=local_authorization_list,
            list_version=list_version,
        )

    async def update_firmware(
        self,
        firmware: str | None = None,
        location: str | None = None,
        retrieve_date: str | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
    ) -> OperatorRequest:
        """``firmware``: a firmware image the DUT offers (ours builds the ftp:// location)."""
        return await self._do(
            "update_firmware",
            firmware=firmware,
            location=location,
            retrieve_date=retrieve_date,
            retries=retries,
            retry_interval=retry_interval,
        )

    async def get_diagnostics(
        self,
        location: str | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: str | None = None,
        stop_time: str | None = None,
    ) -> OperatorRequest:
        """Without a location the DUT chooses where the upload goes (ours: its FTP server)."""
        return await self._do(
            "get_diagnostics",
            location=location,
            retries=retries,
            retry_interval=retry_interval,
            start_time=start_time,
            stop_time=stop_time,
        )

    async def reserve_now(
        self,
        connector_id: int,
        id_tag: str,
        expiry_date: str | None = None,
        reservation_id: int | None = None,
        parent_id_tag: str | None = None,
    ) -> OperatorRequest:
        return await self._do(
            "reserve_now",
            connector_id=connector_id,
            id_tag=id_tag,
            expiry_date=expiry_date,
            reservation_id=reservation_id,
            parent_id_tag=parent_id_tag,
        )

    async def cancel_reservation(self, reservation_id: int) -> OperatorRequest:
        return await self._do("cancel_reservation", reservation_id=reservation_id)

    async def set_charging_profile(
        self, connector_id: int, charging_profile: dict[str, Any]
    ) -> OperatorRequest:
        """``charging_profile``: the csChargingProfiles object (camelCase)."""
        return await self._do(
            "set_charging_profile", connector_id=connector_id, charging_profile=charging_profile
        )

    async def clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
    ) -> OperatorRequest:
        return await self._do(
            "clear_charging_profile",
            id=id,
            connector_id=connector_id,
            charging_profile_purpose=charging_profile_purpose,
            stack_level=stack_level,
        )

    async def get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> OperatorRequest:
        return await self._do(
            "get_composite_schedule",
            connector_id=connector_id,
            duration=duration,
            charging_rate_unit=charging_rate_unit,
        )

    def provide_firmware(self, name: str, data: bytes) -> None:
        """Make a firmware image available at the DUT (an external one's operator has it)."""

    def last_failure(self) -> str | None:
        for request in reversed(self.requests):
            if request.failed:
                return f"operator action {request.action} failed: {request.failed}"
        return None

    def transactions(self) -> list[dict[str, Any]] | None:
        """The DUT's own record of this charge point's transactions, if it can be read."""
        return None


class LocalOperator(Operator):
    """Operator actions on our CSMS through its Python API (``bench.csms.operations``)."""

    local = True

    def __init__(self, csms: CentralSystem, cp_id: str, clock: Clock) -> None:
        super().__init__(cp_id, clock)
        self.csms = csms

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        method = getattr(self.csms, action)
        result = method(self.cp_id, **params)
        if not inspect.isawaitable(result):  # a registry change: done at once
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            done.set_result(result)
            result = done
        task = asyncio.ensure_future(result)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # no "never retrieved"
        request = OperatorRequest(action, params, task)
        self.requests.append(request)
        await asyncio.sleep(0)  # let it start
        return request

    def transactions(self) -> list[dict[str, Any]] | None:
        return self.csms.transactions(self.cp_id)

    def provide_firmware(self, name: str, data: bytes) -> None:
        """Put the image into our CSMS's firmware store (its FTP server)."""
        self.csms.add_firmware(name, data)


class ExternalOperator(Operator):
    """Operator actions on an external DUT: through ``hook(action, params)`` if there is one.

    Without a hook every action raises :class:`OperatorActionUnavailable`, which the
    runner reports as verdict *error* (the case could not be run, the DUT did not fail).
    """

    def __init__(self, cp_id: str, clock: Clock, hook: OperatorHook | None) -> None:
        super().__init__(cp_id, clock)
        self.hook = hook

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        params = {k: v for k, v in params.items() if v is not None}
        if action == "call":  # hooks get JSON: the action and its wire payload
            payload = params.pop("payload")
            wire = remove_nones(snake_to_camel_case(serialize_as_dict(payload)))
            params = {"action": type(payload).__name__, "payload": wire}
        if self.hook is None:
            raise OperatorActionUnavailable(
                f"this case needs an operator action on the external CSMS: {action} "
                f"{params} for charge point {self.cp_id}; no operator hook is configured "
                "(RunOptions.operator_hook or BENCH_OPERATOR_HOOK)"
            )
        result = await self.hook(action, {"cp_id": self.cp_id, **params})
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        future.set_result(result)
        request = OperatorRequest(action, params, future)
        self.requests.append(request)
        return request


def command_hook(command: str) -> OperatorHook:
    """An operator hook that runs ``command ACTION JSON-PARAMS``; exit status 0 = done."""

    async def hook(action: str, params: dict[str, Any]) -> Any:
        process = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            action,
            json.dumps(params),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise OperatorActionUnavailable(
                f"operator hook {command!r} failed on {action}: {err.decode().strip()}"
            )
        text = out.decode().strip()
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text

    return hook


# --- the bench -----------------------------------------------------------------------------

_SHARED_PKI: Path | None = None


def _shared_pki_dir() -> Path:
    """One local CA for every case of this process (RSA key generation is slow)."""
    global _SHARED_PKI
    if _SHARED_PKI is None:
        _SHARED_PKI = Path(tempfile.mkdtemp(prefix="bench-csms-pki-"))
        atexit.register(shutil.rmtree, _SHARED_PKI, True)
    return _SHARED_PKI


class CsmsBench:
    """One ``_CSMS`` case's bench: the DUT (ours, started here, or external) and the charge point.

    ``options.dut_url`` None: our CentralSystem in a temporary directory with TLS, the
    charge point registered with a fresh password and the idTags the cases need, as a
    lab operator prepares a DUT. Otherwise the bench connects to ``options.dut_url`` as
    ``options.dut_cp_id``/``options.dut_password`` (wss verified against
    ``options.dut_ca`` / ``BENCH_DUT_CA`` if given, else the system store).
    """

    def __init__(
        self,
        options: RunOptions,
        clock: Clock | None = None,
        *,
        operator_hook: OperatorHook | str | None = None,
        connectors: int | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.options = options
        self.ports = ports or Ports()  # our CSMS's listeners when it is the DUT
        self.clock = clock or Clock.start(options.speed)
        self.trace: list[dict[str, Any]] = []
        self.tags = IdTags()
        self.connectors = connectors or 2
        self.cp_id = options.dut_cp_id or "BENCH-CP-001"
        self.password: str | None = options.dut_password
        self.local = options.dut_url is None
        self.csms: CentralSystem | None = None
        self.cp: SimChargePoint | None = None
        self.operator: Operator | None = None
        self._hook = operator_hook or getattr(options, "operator_hook", None)
        self._root: Path | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        if self.local:
            url, ca_file = await self._start_local_dut()
            assert self.csms is not None
            self.operator = LocalOperator(self.csms, self.cp_id, self.clock)
        else:
            url = _cp_url(str(self.options.dut_url), self.cp_id)
            ca_file = getattr(self.options, "dut_ca", None) or os.environ.get("BENCH_DUT_CA")
            hook = self._hook or os.environ.get("BENCH_OPERATOR_HOOK")
            if isinstance(hook, str):
                hook = command_hook(hook)
            self.operator = ExternalOperator(self.cp_id, self.clock, hook)
            if self.clock.speed != 1:
                log.warning("external CSMS at speed %g: its clock runs at 1", self.clock.speed)
        self.cp = SimChargePoint(
            self.cp_id,
            url,
            self.password,
            self.clock,
            self._record,
            ca_file=ca_file,
            connectors=self.connectors,
        )
        if self.local:
            assert self.csms is not None
            self.cp.security.endpoints = {
                profile: Endpoint(
                    self.csms.url(self.cp_id, profile), ca_file if profile > 1 else None
                )
                for profile in self.csms.profile_ports()
            }
            self.cp.security.profile = self.csms.main_profile
        else:
            self.cp.security.endpoints = {2 if url.startswith("wss") else 1: Endpoint(url, ca_file)}
            self.cp.security.profile = 2 if url.startswith("wss") else 1
        if ca_file and Path(ca_file).is_file():
            # The charge point was provisioned with the Central System's root.
            self.cp.security.roots["CentralSystemRootCertificate"].append(Path(ca_file).read_text())

    async def _start_local_dut(self) -> tuple[str, str]:
        from bench.csms.server import CentralSystem
        from bench.security.pki import client_cert_server_context, ensure_pki, server_ssl_context

        self._root = Path(tempfile.mkdtemp(prefix="bench-csms-dut-"))
        pki = ensure_pki(_shared_pki_dir())
        self.password = self.password or secrets.token_urlsafe(18)
        self.csms = CentralSystem(
            self._root / "csms",
            self.clock,
            ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
            pki_dir=_shared_pki_dir(),
            port=self.ports.csms,
            plain_port=self.ports.plain or 0,
            client_cert_port=self.ports.client_cert or 0,
            ftp_port=self.ports.ftp,
            ftp_passive_ports=self.ports.ftp_passive,
            client_cert_ssl_context=client_cert_server_context(
                pki.server_cert, pki.server_key, pki.ca_cert
            ),
        )
        await self.csms.start()
        # What the lab's operator sets up in the DUT before the run.
        self.csms.register_charge_point(self.cp_id, self.password)
        past = self.clock.now() - timedelta(days=30)
        tags = self.tags
        self.csms.add_id_tag(tags.parent, "Accepted")
        self.csms.add_id_tag(tags.valid, "Accepted", parent=tags.parent)
        self.csms.add_id_tag(tags.valid2, "Accepted", parent=tags.parent)
        self.csms.add_id_tag(tags.expired, "Expired", expiry=past)
        self.csms.add_id_tag(tags.blocked, "Blocked")
        return self.csms.url(self.cp_id), str(pki.ca_cert)

    async def stop(self) -> None:
        try:
            if self.cp is not None:
                if not self.local and self.cp.connected:
                    await self._close_open_transactions()
                await self.cp.close()
        finally:
            if self.csms is not None:
                await self.csms.stop()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)

    async def _close_open_transactions(self) -> None:
        """Leave an external DUT without transactions this case opened (best effort)."""
        assert self.cp is not None
        for tx_id, tx in list(self.cp.transactions.items()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.cp.request(
                        call.StopTransaction(
                            meter_stop=tx["meter_start"],
                            timestamp=self.cp.now(),
                            transaction_id=tx_id,
                            reason="Other",
                        )
                    ),
                    self.clock.wall(RESPONSE_TIMEOUT_S),
                )

    def make_handle(self, pics: dict[str, Any] | None = None) -> CsmsHandle:
        pics = pics or {}
        if not self.local:
            self.tags = IdTags.from_pics(pics)
            if self.cp is not None:  # the external DUT's other profiles' URLs, if it has them
                for profile in (1, 2, 3):
                    url = pics.get(f"security.url.{profile}")
                    if url:
                        ca = self.cp.security.endpoints.get(2, Endpoint("")).ca_file
                        self.cp.security.endpoints[profile] = Endpoint(
                            _cp_url(str(url), self.cp_id), ca if profile > 1 else None
                        )
        return CsmsHandle(self, pics)

    # -- trace ----------------------------------------------------------------------------

    def _record(
        self,
        direction: str,
        action: str | None,
        message_type: int,
        unique_id: str,
        payload: dict[str, Any],
        ts: float,
    ) -> None:
        self.trace.append(
            {
                "ts": ts,
                "sender": "dut" if direction == "in" else "bench",
                "message_type": message_type,
                "unique_id": unique_id,
                "action": action,
                "payload": payload,
            }
        )
        self._changed.set()

    async def trace_changed(self, timeout: float) -> None:
        """Wait (wall seconds) until a frame is added to the trace."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(0.0, timeout))


def _cp_url(base: str, cp_id: str) -> str:
    """A charger is configured with the base URL; its id is the last path segment."""
    if base.endswith("/"):
        return base  # connect_client appends the id
    if base.rstrip("/").rsplit("/", 1)[-1] == cp_id:
        return base
    return base + "/"


# --- the handle ----------------------------------------------------------------------------


class CsmsHandle(BaseHandle):
    """Tests a Central System: the bench is its charge point (and the EV driver, and its operator).

    ``t.expect(action, ...)`` and ``t.expect_call`` wait for a CALL from the Central
    System; ``t.send(call.X(...))`` sends one and returns the CSMS's response;
    ``t.answer(action, ...)`` scripts the charge point's answer to a CSMS request.
    Times are simulated seconds of the bench clock.
    """

    def __init__(self, bench: CsmsBench, pics: dict[str, Any] | None = None) -> None:
        super().__init__(bench.clock, pics)
        self.bench = bench
        assert bench.cp is not None and bench.operator is not None
        self.cp: SimChargePoint = bench.cp
        self.operator: Operator = bench.operator
        self.cp_id = bench.cp_id
        self.tags = bench.tags
        self.connectors = bench.connectors
        self.response_timeout = float(self.pics.get("response-timeout", RESPONSE_TIMEOUT_S))
        self.heartbeat_interval: int | None = None
        self.cp.milliseconds = bool(self.pics.get("milliseconds-in-timestamps", True))

    # -- trace ----------------------------------------------------------------------------

    def _trace(self) -> list[dict[str, Any]]:
        return self.bench.trace

    async def _trace_changed(self, timeout: float) -> None:
        await self.bench.trace_changed(timeout)

    def reply_to(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The trace entry with the bench's answer to a CALL from the CSMS, if sent yet."""
        trace = self._trace()
        uid = next(
            (f["unique_id"] for f in trace if f["sender"] == "dut" and f["payload"] is request),
            None,
        )
        return next(
            (
                f
                for f in trace
                if f["sender"] == "bench" and f["unique_id"] == uid and f["message_type"] != CALL
            ),
            None,
        )

    # -- the link -----------------------------------------------------------------------

    async def connect(self, within: float = 10.0) -> None:
        """Open the charge point's WebSocket to the Central System."""
        self.step(f"connect to {self.cp.url} as {self.cp_id}")
        try:
            await self.cp.connect(timeout=max(self.clock.wall(within), 5.0))
        except InvalidStatus as exc:
            raise ScenarioFailed(
                f"the CSMS refused the WebSocket connection: HTTP {exc.response.status_code}"
            ) from None
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise ScenarioFailed(
                f"could not connect to the CSMS at {self.cp.url}: {type(exc).__name__}: {exc}"
            ) from None

    async def disconnect(self, abrupt: bool = False) -> None:
        """Close the connection; ``abrupt``: as a power or network loss (no close frame)."""
        self.step("drop the connection" if abrupt else "close the connection")
        await self.cp.disconnect(abrupt=abrupt)

    async def reconnect(self, within: float = 10.0) -> None:
        """Connect again after a connection loss (no BootNotification: nothing rebooted)."""
        await self.cp.disconnect()
        await self.connect(within)

    async def reboot(self, abrupt: bool = False, pause: float = 2.0) -> dict[str, Any]:
        """The charge point restarts: connection down, up again, BootNotification."""
        await self.disconnect(abrupt=abrupt)
        await self.sleep(pause)
        await self.connect()
        return await self.boot()

    # -- sending ------------------------------------------------------------------------

    async def send(self, payload: Any, within: float | None = None) -> dict[str, Any]:
        """Send a request (an ``ocpp.v16.call`` object); the CSMS's response (wire form).

        Fails the case when the CSMS answers with a CALLERROR, a response that breaks
        the OCPP 1.6 schema, or not at all within ``within`` (default: response timeout).
        """
        name = type(payload).__name__
        within = self.response_timeout if within is None else within
        self.step(f"send {name} {_summary(payload)}".rstrip())
        mark = self.mark()
        try:
            return await asyncio.wait_for(self.cp.request(payload), self.clock.wall(within))
        except NotConnected:
            raise ScenarioFailed(
                f"{name}: the charge point is not connected (the CSMS closed the connection?)"
            ) from None
        except CallErrorReceived as exc:
            raise ScenarioFailed(
                f"the CSMS answered {name} with CALLERROR {exc.code}: {exc.description}"
            ) from None
        except TimeoutError:
            raise ScenarioTimedOut(f"the CSMS did not answer {name} within {within:g} s") from None
        except OCPPError as exc:
            raw = next(
                (
                    f["payload"]
                    for f in self._trace()[mark:]
                    if f["sender"] == "dut" and f["action"] == name and f["message_type"] != CALL
                ),
                None,
            )
            raise ScenarioFailed(
                f"the CSMS's {name} response breaks the OCPP 1.6 schema "
                f"({type(exc).__name__}: {exc.description}; {exc.details}): {raw}"
            ) from None

    def answer(self, action: str, payload_or_callable: Answer | None, delay: float = 0.0) -> None:
        """Script the charge point's answer to ``action`` from the CSMS (None: back to default).

        A callable gets the request payload and returns the response payload (or
        awaits it, or returns :data:`NO_ANSWER`); it may raise an ``OCPPError`` to answer
        with that CALLERROR. ``delay`` (simulated s) holds the answer back.
        """
        self.step(f"charge point will answer {action} with {_describe(payload_or_callable)}")
        self.cp.script(action, payload_or_callable, delay)

    async def expect_call(
        self,
        action: str,
        subset: dict[str, Any] | None = None,
        within: float = OPERATOR_WAIT_S,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The CSMS's request ``action`` matching ``subset``; it must have been well formed."""
        try:
            request = await self.expect(action, subset, within, since)
        except ScenarioFailed as exc:
            failure = self.operator.last_failure()
            seen = [
                f"{f['action']} {f['payload']}"
                for f in self.from_dut(since or 0)
                if f["action"] != action
            ]
            message = str(exc).replace("no ", "the CSMS sent no ", 1)
            if seen:
                message += f"; other requests from the CSMS: {seen[-3:]}"
            if failure:
                message += f"; {failure}"
            raise ScenarioFailed(message) from None
        # The link answers while we look: give it a moment to record its reply.
        for _ in range(50):
            reply = self.reply_to(request)
            if reply is not None:
                break
            await asyncio.sleep(0.01)
        if reply is not None and reply["message_type"] == CALLERROR:
            raise ScenarioFailed(
                f"the CSMS's {action} request is malformed: the charge point answered "
                f"CALLERROR {reply['payload'].get('errorCode')} "
                f"({reply['payload'].get('errorDetails')}); request: {request}"
            )
        return request

    async def operated(
        self,
        action: Awaitable[OperatorRequest],
        expect: str,
        subset: dict[str, Any] | None = None,
        within: float = OPERATOR_WAIT_S,
    ) -> tuple[OperatorRequest, dict[str, Any]]:
        """An operator action and the CSMS request it must cause."""
        mark = self.mark()
        request = await action
        self.step(f"operator: {request.action} {request.params}")
        return request, await self.expect_call(expect, subset, within, since=mark)

    async def outcome(self, request: OperatorRequest, within: float = 10.0) -> Any:
        """What the DUT reported to its operator (local DUT: the charge point's answer)."""
        return await request.outcome(within, self.clock)

    # -- messages, with the timestamps of this charge point -------------------------------

    def now(self, offset: float = 0.0) -> str:
        """An OCPP timestamp (UTC; milliseconds unless the PICS says no) ``offset`` s from now."""
        return self.cp.now(offset)

    async def boot(self, expect_status: str | None = "Accepted") -> dict[str, Any]:
        """BootNotification; the CSMS must answer ``expect_status`` (None: any)."""
        response = await self.send(self.cp.boot_payload())
        status = response.get("status")
        if expect_status is not None and status != expect_status:
            raise ScenarioFailed(
                f"the CSMS answered BootNotification with status {status}, not {expect_status}"
            )
        interval = response.get("interval")
        if status == "Accepted" and isinstance(interval, int):
            self.heartbeat_interval = interval
            self.cp.config.keys["HeartbeatInterval"].value = str(interval)
            self.cp.start_heartbeat(interval)
        return response

    async def status(
        self,
        connector: int,
        status: str,
        error_code: str = "NoError",
        **extra: Any,
    ) -> dict[str, Any]:
        """StatusNotification; the CSMS must answer with an (empty) StatusNotification.conf."""
        return await self.send(
            call.StatusNotification(
                connector_id=connector,
                error_code=error_code,
                status=status,
                timestamp=self.now(),
                **extra,
            )
        )

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """Authorize; the response's idTagInfo."""
        response = await self.send(call.Authorize(id_tag=id_tag))
        return response["idTagInfo"]

    async def start_transaction(
        self,
        connector: int,
        id_tag: str,
        timestamp: str | None = None,
        meter_start: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """StartTransaction; the CSMS must give a transactionId. Returns the response."""
        response = await self.send(
            call.StartTransaction(
                connector_id=connector,
                id_tag=id_tag,
                meter_start=self.cp.meter_wh[connector] if meter_start is None else meter_start,
                timestamp=timestamp or self.now(),
                **extra,
            )
        )
        tx = response.get("transactionId")
        self.check(
            isinstance(tx, int),
            f"the CSMS answered StartTransaction without an integer transactionId: {response}",
        )
        self.details.setdefault("transaction_ids", []).append(tx)
        return response

    async def stop_transaction(
        self,
        transaction_id: int,
        reason: str | None,
        id_tag: str | None = None,
        timestamp: str | None = None,
        meter_stop: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """StopTransaction of a transaction this charge point started; the CSMS's response."""
        tx = self.cp.transactions.get(transaction_id, {})
        if meter_stop is None:
            meter_stop = tx.get("meter_start", 0) + 4_321
        kwargs = {"reason": reason} if reason else {}
        if id_tag:
            kwargs["id_tag"] = id_tag
        response = await self.send(
            call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=timestamp or self.now(),
                transaction_id=transaction_id,
                **kwargs,
                **extra,
            )
        )
        info = response.get("idTagInfo")
        if id_tag and info is not None:
            self.details["stop_id_tag_status"] = info.get("status")
        return response

    # -- OCTT reusable states ----------------------------------------------------------------

    async def booted(self) -> dict[str, Any]:
        """Reusable state Booted: connected, boot Accepted, every connector Available."""
        if not self.cp.connected:
            await self.connect()
        response = await self.boot()
        for connector in range(self.connectors + 1):
            await self.status(connector, "Available")
        return response

    async def authorized(self, id_tag: str | None = None) -> dict[str, Any]:
        """Reusable state Authorized: Authorize of a valid idTag answered Accepted."""
        id_tag = id_tag or self.tags.valid
        info = await self.authorize(id_tag)
        self.expect_id_tag_status("Authorize", id_tag, info, "Accepted")
        return info

    async def charging(self, connector: int = 1, id_tag: str | None = None) -> int:
        """Reusable state Charging (after Booted): authorized, plugged in, transaction started.

        Returns the transactionId the CSMS gave.
        """
        id_tag = id_tag or self.tags.valid
        await self.authorized(id_tag)
        await self.status(connector, "Preparing")
        response = await self.start_transaction(connector, id_tag)
        self.expect_id_tag_status("StartTransaction", id_tag, response.get("idTagInfo"), "Accepted")
        await self.status(connector, "Charging")
        return response["transactionId"]

    # -- checks -------------------------------------------------------------------------------

    def expect_id_tag_status(
        self, message: str, id_tag: str, info: dict[str, Any] | None, expected: str
    ) -> None:
        """The idTagInfo the CSMS gave for ``id_tag`` has status ``expected``."""
        have = (info or {}).get("status")
        self.check(
            have == expected,
            f"{message} of idTag {id_tag}: the CSMS answered idTagInfo.status {have}, "
            f"expected {expected}",
        )

    def expect_empty_conf(self, message: str, response: dict[str, Any]) -> None:
        self.check(response == {}, f"the CSMS's {message}.conf is not empty: {response}")


def _summary(payload: Any) -> str:
    """The scalar fields of a request, for the step log (``connectorId=1 status=Charging``)."""
    if not dataclasses.is_dataclass(payload):
        return ""
    fields = [
        f"{_camel(f.name)}={getattr(payload, f.name)}"
        for f in dataclasses.fields(payload)
        if isinstance(getattr(payload, f.name), str | int) and f.name != "timestamp"
    ]
    return " ".join(fields[:4])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _describe(answer: Any) -> str:
    if answer is None:
        return "the default"
    if callable(answer):
        return getattr(answer, "__name__", "a function")
    return json.dumps(answer) if isinstance(answer, dict) else repr(answer)


parse_ocpp_time = ocpp_time_or_none  # None for anything that is not a date-time


__all__ = [
    "NO_ANSWER",
    "CsmsBench",
    "CsmsHandle",
    "ExternalOperator",
    "IdTags",
    "LocalOperator",
    "Operator",
    "OperatorActionUnavailable",
    "OperatorRequest",
    "SimChargePoint",
    "command_hook",
]
