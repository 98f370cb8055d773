"""One connected charge point as the Central System sees it.

Binds every action in :data:`bench.csms.handlers.HANDLERS` to an ``@on`` route (the
link answers NotSupported for an action without one). The session answers those
actions directly with the handlers' wire dicts (``_answer_directly``); the routes
translate through the ``ocpp`` package's dataclasses for anyone calling them. Handlers
never await a CALL (inbound frames are handled one at a time, so that would deadlock
until the response timeout).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import ocpp.messages
from ocpp.charge_point import camel_to_snake_case, remove_nones
from ocpp.messages import Call, validate_payload
from ocpp.routing import on
from ocpp.v16 import call_result

from bench.csms.handlers import HANDLERS, Handler, VendorHook
from bench.csms.store import Store
from charger.clock import Clock
from charger.protocol.link import FrameCallback, Link

LOG = logging.getLogger(__name__)

# Validate payloads on the loop, not in the default thread pool (the ocpp package's own
# switch; it is per process). Measured: a Heartbeat validates in ~20 us, but each of the
# two executor hops per CALL cost 0.2-0.5 ms of thread wake-ups under load, and queued
# connected charge points' messages behind the handshakes sharing that pool. jsonschema
# holds the GIL either way, so a thread never took a large payload off the loop's back.
ocpp.messages.ASYNC_VALIDATION = False

#: ``on_answered(session, action, request, response)``: called once the response to a
#: charge point's CALL is on the wire (follow-up requests go out from here, as tasks).
AnsweredHook = Callable[["ChargePointSession", str, dict[str, Any], dict[str, Any]], None]


class ChargePointSession(Link):
    """The CSMS end of one charge point's WebSocket."""

    def __init__(
        self,
        cp_id: str,
        connection: Any,
        store: Store,
        clock: Clock,
        *,
        on_frame: FrameCallback | None = None,
        response_timeout: float = 30,
        vendor_hooks: dict[str, VendorHook] | None = None,
        on_answered: AnsweredHook | None = None,
    ):
        super().__init__(
            cp_id, connection, on_frame=on_frame, clock=clock, response_timeout=response_timeout
        )
        self.store = store
        self.vendor_hooks = vendor_hooks if vendor_hooks is not None else {}
        self.on_answered = on_answered
        self._answers: dict[str, dict[str, Any]] = {}

    def handle(self, action: str, handler: Handler, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "DataTransfer":
            return handler(self.store, self.clock, self.id, payload, hooks=self.vendor_hooks)
        return handler(self.store, self.clock, self.id, payload)

    async def _handle_call(self, msg: Call) -> None:
        try:
            if msg.action in HANDLERS:
                await self._answer_directly(msg)
            else:
                await super()._handle_call(msg)
        finally:
            response = self._answers.pop(msg.unique_id, None)
        if response is not None and self.on_answered is not None:
            try:
                result = self.on_answered(
                    self, msg.action, self.inbound_payload(msg.unique_id), response
                )
                if inspect.isawaitable(result):  # not meant to be: never block the link
                    LOG.error("%s: on_answered returned an awaitable; ignored", self.id)
                    result.close()  # type: ignore[union-attr]
            except Exception:
                LOG.exception("%s: on_answered failed after %s", self.id, msg.action)

    async def _answer_directly(self, msg: Call) -> None:
        """What the ``ocpp`` package's dispatch does for a route, without its per-message
        signature inspection and snake_case dataclass round trip: the handlers take and
        return wire dicts. Validated both ways with the package's schemas, errors
        answered as it answers them."""
        await validate_payload(msg, self._ocpp_version)
        try:
            response = self.handle(
                msg.action, HANDLERS[msg.action], self.inbound_payload(msg.unique_id)
            )
        except Exception as exc:  # noqa: BLE001 - answered with a CALLERROR, as ocpp does
            self.logger.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(exc).to_json())
            return
        self._answers[msg.unique_id] = response
        result = msg.create_call_result(remove_nones(response))
        await validate_payload(result, self._ocpp_version)
        await self._send(result.to_json())


def _route(action: str, handler: Handler) -> Any:
    def answer(self: ChargePointSession, call_unique_id: str, **_: Any) -> Any:
        payload = self.inbound_payload(call_unique_id)
        response = self.handle(action, handler, payload)
        self._answers[call_unique_id] = response
        return getattr(call_result, action)(**camel_to_snake_case(response))

    # The ocpp package finds routes by function name, so name it before decorating.
    answer.__name__ = answer.__qualname__ = f"on_{action}"
    return on(action)(answer)


for _action, _handler in HANDLERS.items():
    setattr(ChargePointSession, f"on_{_action}", _route(_action, _handler))
