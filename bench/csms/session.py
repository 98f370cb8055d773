"""One connected charge point as the Central System sees it.

Binds every action in :data:`bench.csms.handlers.HANDLERS` to an ``@on`` route. The
routes only translate between the ``ocpp`` package's dataclasses and the wire dicts
the handlers use; they never await a CALL (inbound frames are handled one at a time,
so that would deadlock until the response timeout).
"""

from __future__ import annotations

from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import on
from ocpp.v16 import call_result

from bench.clock import Clock
from bench.csms.handlers import HANDLERS, Handler
from bench.csms.store import Store
from bench.protocol.link import FrameCallback, Link


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
    ):
        super().__init__(
            cp_id, connection, on_frame=on_frame, clock=clock, response_timeout=response_timeout
        )
        self.store = store


def _route(action: str, handler: Handler) -> Any:
    def answer(self: ChargePointSession, call_unique_id: str, **_: Any) -> Any:
        payload = self.inbound_payload(call_unique_id)
        response = handler(self.store, self.clock, self.id, payload)
        return getattr(call_result, action)(**camel_to_snake_case(response))

    # The ocpp package finds routes by function name, so name it before decorating.
    answer.__name__ = answer.__qualname__ = f"on_{action}"
    return on(action)(answer)


for _action, _handler in HANDLERS.items():
    setattr(ChargePointSession, f"on_{_action}", _route(_action, _handler))
