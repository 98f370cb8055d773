"""One OCPP 1.6-J connection: the ``ocpp`` ChargePoint plus what a test bench needs.

On top of ``ocpp.v16.ChargePoint`` the link

* answers malformed frames with the OCPP 1.6 CALLERROR instead of dropping them
  (codes and rules in :mod:`charger.protocol.frames`);
* reports every frame, both directions, to ``on_frame(direction, action,
  message_type, unique_id, payload, ts)`` with the payload as on the wire
  (camelCase; a CALLERROR as ``{"errorCode", "errorDescription", "errorDetails"}``;
  an unparseable frame as ``{"raw": text}`` with message_type 0 if unreadable) and
  ``ts`` the simulated Unix time of :class:`charger.clock.Clock`;
* offers :meth:`Link.request`, which returns the CALLRESULT payload as on the
  wire and raises :class:`CallErrorReceived` / :class:`NotConnected`;
* gives ``@on`` handlers the wire payload of the CALL they answer
  (:meth:`Link.inbound_payload`), so handler logic can work on plain dicts.

Everything goes through ``route_message`` and the connection's ``send``/``recv``, so
a fake connection object is enough to test it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ocpp.exceptions import InternalError, NotSupportedError, OCPPError, UnknownCallErrorCodeError
from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.messages import Call, CallError, CallResult
from ocpp.v16 import ChargePoint
from ocpp.v16.enums import Action
from websockets.exceptions import ConnectionClosed

from charger.clock import Clock
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.frames import (
    CALL,
    CALLERROR,
    MalformedFrame,
    code_16,
    format_violation,
    parse_frame,
    schema_violation,
)

#: on_frame(direction "in"|"out", action or None, message_type, unique_id, payload, ts)
FrameCallback = Callable[[str, str | None, int, str, dict[str, Any], float], None]

ACTIONS_16 = frozenset(a.value for a in Action)


class Link(ChargePoint):
    """``ocpp.v16.ChargePoint`` that answers bad frames per OCPP-J 1.6 and traces frames."""

    #: OCPP-J 1.6 (4.1.3) says to ignore a frame with an unknown MessageTypeId; the bench
    #: answers ProtocolError by default so the defect shows up at the sender too.
    answer_unknown_message_type: bool = True

    def __init__(
        self,
        id: str,
        connection: Any,
        *,
        on_frame: FrameCallback | None = None,
        clock: Clock | None = None,
        response_timeout: float = 30,
    ):
        super().__init__(id, connection, response_timeout=response_timeout)
        self.on_frame = on_frame
        self.clock = clock or Clock.start()
        self._sent_calls: dict[str, str] = {}  # our pending CALL ids -> action
        self._answering: dict[str, tuple[str, dict[str, Any]]] = {}  # peer CALL id -> wire
        self._replied: set[str] = set()  # peer CALL ids already answered
        self._wanted: set[str] = set()  # ids whose raw response request() needs
        self._responses: dict[str, CallResult | CallError] = {}
        self._closed = asyncio.Event()

    # -- receiving -------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        try:
            msg = parse_frame(raw_msg)
        except MalformedFrame as bad:
            await self._reject(bad)
            return
        if isinstance(msg, Call):
            self._trace("in", msg.action, CALL, msg.unique_id, msg.payload)
            await self._answer(msg)
            return
        action = self._sent_calls.pop(msg.unique_id, None)
        self._trace("in", action, msg.message_type_id, msg.unique_id, _wire_payload(msg))
        if action is None:
            # Not an answer to a CALL of ours that is still waiting (OCPP-J: ignore it).
            # Queued, it would make the ocpp package's _get_specific_response recurse
            # once per stray frame into RecursionError and break every later call.
            self.logger.warning("%s: ignoring a response to no pending call: %s", self.id, msg)
            return
        if msg.unique_id in self._wanted:
            self._responses[msg.unique_id] = msg
        self._response_queue.put_nowait(msg)

    async def _reject(self, bad: MalformedFrame) -> None:
        self._trace("in", None, bad.message_type, bad.unique_id, {"raw": bad.text})
        self.logger.warning("%s: malformed frame %r: %s", self.id, bad.text[:200], bad)
        known_type = bad.message_type in (0, CALL)
        if bad.reply and (known_type or self.answer_unknown_message_type):
            error = bad.error
            reply = CallError(bad.unique_id, code_16(error.code), error.description, error.details)
            await self._send(reply.to_json())

    async def _answer(self, msg: Call) -> None:
        self._answering[msg.unique_id] = (msg.action, msg.payload)
        try:
            if msg.action not in ACTIONS_16:
                # OCPP-J 1.6 §4.2.3 (the ocpp package's default texts are swapped)
                raise OcppNotImplementedError(
                    description="Requested Action is not known by receiver",
                    details={"cause": f"{msg.action} is not an OCPP 1.6 action"},
                )
            if "_on_action" not in self.route_map.get(msg.action, {}):
                raise NotSupportedError(
                    description="Requested Action is recognized but not supported by the receiver",
                    details={"cause": f"No handler for {msg.action}"},
                )
            try:
                bad_format = format_violation(msg.action, msg.payload)
                if bad_format is not None:
                    raise bad_format
                await self._handle_call(msg)
            except (OCPPError, ArithmeticError) as error:
                # Raised by schema validation, of the request or of our own response.
                # (msg.payload may have been swapped for a Decimal copy: use the wire one.)
                wire = self._answering[msg.unique_id][1]
                raise schema_violation(msg.action, wire) or InternalError(
                    details={"cause": f"Invalid response: {error}"}
                ) from error
        except OCPPError as error:
            await self._send_error_once(msg, error)
        except ConnectionClosed:
            raise
        except Exception:
            self.logger.exception("%s: failed to answer %s", self.id, msg)
            await self._send_error_once(msg, InternalError())
        finally:
            self._answering.pop(msg.unique_id, None)
            self._replied.discard(msg.unique_id)

    async def _send_error_once(self, msg: Call, error: OCPPError) -> None:
        """A failing ``@after`` hook must not send a second answer to the same CALL."""
        if msg.unique_id in self._replied:
            self.logger.error("%s: error after answering %s: %s", self.id, msg, error)
            return
        await self._send(msg.create_call_error(error).to_json())

    def answering(self) -> bool:
        """A CALL of the peer is being answered (its answer has not left yet)."""
        return bool(self._answering)

    def inbound_payload(self, call_unique_id: str) -> dict[str, Any]:
        """The wire payload of the peer's CALL being answered (for ``@on`` handlers)."""
        return self._answering[call_unique_id][1]

    # -- sending ---------------------------------------------------------------

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        mtype, uid = frame[0], frame[1]
        if mtype == CALL:
            action, payload = frame[2], frame[3]
            self._sent_calls[uid] = action
        else:
            action = self._answering.get(uid, (None, None))[0]
            if action is not None:
                self._replied.add(uid)
            if mtype == CALLERROR:
                # The ocpp package names some codes as in OCPP 2.0.1; send the 1.6 names.
                frame[2] = code_16(frame[2])
                message = CallError(*frame[1:]).to_json()
                payload = _error_payload(*frame[2:5])
            else:
                payload = frame[2]
        self._trace("out", action, mtype, uid, payload)
        try:
            await super()._send(message)
        except ConnectionClosed:
            if mtype == CALL:
                raise
            # Our answer cannot leave: the peer has closed. Keep reading what it sent
            # before closing (e.g. its answer to our Reset, queued behind the CALL we
            # were answering); the receive loop ends once that is drained.
            self.logger.info("%s: closed before our answer to %s could leave", self.id, uid)

    async def request(self, payload: Any, *, skip_schema_validation: bool = False) -> dict:
        """Send a CALL (an ``ocpp.v16.call`` dataclass) and return the response payload.

        The payload is the CALLRESULT's JSON object as received (camelCase keys).
        Raises :class:`CallErrorReceived` on a CALLERROR, :class:`NotConnected` if the
        connection is or gets closed, :class:`TimeoutError` after ``response_timeout``.
        """
        action = type(payload).__name__
        if self._closed.is_set():
            raise NotConnected(f"{self.id} is not connected")
        uid = str(self._unique_id_generator())
        self._wanted.add(uid)
        call = asyncio.ensure_future(
            self.call(
                payload,
                suppress=False,
                unique_id=uid,
                skip_schema_validation=skip_schema_validation,
            )
        )
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({call, closed}, return_when=asyncio.FIRST_COMPLETED)
            response = self._responses.get(uid)
            if not call.done():
                # A peer that answers and then closes (Reset: the answer, then the reboot)
                # may have its close seen first: the answer that arrived still counts.
                if response is None:
                    raise NotConnected(f"{self.id} disconnected while waiting for {action}")
                return self._response_payload(action, response)
            try:
                call.result()
            except ConnectionClosed as exc:
                raise NotConnected(f"{self.id} disconnected while sending {action}") from exc
            except (OCPPError, UnknownCallErrorCodeError):
                if isinstance(response, CallError):
                    return self._response_payload(action, response)
                raise
            return plain(self._responses[uid].payload)
        finally:
            call.cancel()
            closed.cancel()
            self._wanted.discard(uid)
            self._responses.pop(uid, None)
            self._sent_calls.pop(uid, None)

    @staticmethod
    def _response_payload(action: str, response: CallResult | CallError) -> dict:
        """A CALLRESULT's payload; a CALLERROR raises :class:`CallErrorReceived`."""
        if isinstance(response, CallError):
            raise CallErrorReceived(
                action,
                response.error_code,
                response.error_description,
                response.error_details or {},
            ) from None
        return plain(response.payload)

    # -- lifecycle -------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes; then pending requests get NotConnected."""
        try:
            await self.start()
        except ConnectionClosed:
            pass
        finally:
            self.mark_closed()

    def mark_closed(self) -> None:
        self._closed.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket; pending and later requests get NotConnected."""
        self.mark_closed()
        await self._connection.close(code, reason)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _trace(
        self, direction: str, action: str | None, mtype: int, uid: str, payload: dict
    ) -> None:
        if self.on_frame is None:
            return
        try:
            self.on_frame(direction, action, mtype, uid, payload, self.clock.time())
        except Exception:
            self.logger.exception("%s: on_frame callback failed", self.id)


def _wire_payload(msg: CallResult | CallError) -> dict[str, Any]:
    if msg.message_type_id == CALLERROR:
        return _error_payload(msg.error_code, msg.error_description, msg.error_details)
    return msg.payload


def _error_payload(code: str, description: str, details: Any) -> dict[str, Any]:
    return {"errorCode": code, "errorDescription": description, "errorDetails": details}


def plain(value: Any) -> Any:
    """Undo the ocpp package's Decimal parsing (JSON-able numbers again) for callers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
