"""The handle a ``_CSMS`` case drives: send/answer/expect_call, the OCTT reusable
states (booted, authorized, charging) and ``t.operator``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.exceptions import InvalidStatus, WebSocketException

from bench.scenarios.csms_role.charge_point import (
    OPERATOR_WAIT_S,
    RESPONSE_TIMEOUT_S,
    Answer,
    SimChargePoint,
)
from bench.scenarios.csms_role.operators import (
    Operator,
    OperatorRequest,
)
from bench.scenarios.csms_role.rig import (
    CsmsBench,
)
from bench.scenarios.handle import BaseHandle, ScenarioFailed, ScenarioTimedOut
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.frames import CALL, CALLERROR
from charger.protocol.times import ocpp_time_or_none

log = logging.getLogger("bench.csms_role")


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
