"""Remote Trigger: TriggerMessage (§5.17). Each feature builds the messages it owns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature


class RemoteTrigger(Feature):
    def __init__(self, ctx: Context, features: Sequence[Feature]) -> None:
        super().__init__(ctx)
        self.features = features  # every feature, asked in turn
        self._ready: list[Any] = []

    def build(self, requested: str, connector_id: int | None) -> tuple[str, list[Any]]:
        """(Accepted | Rejected | NotImplemented, the messages to send after the answer)."""
        if connector_id is not None and connector_id not in (0, *self.ctx.connectors):
            return "Rejected", []
        for feature in self.features:
            messages = feature.triggered(requested, connector_id)
            if messages is not None:
                return ("Accepted", messages) if messages else ("Rejected", [])
        return "NotImplemented", []

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any):
        status, self._ready = self.build(requested_message, connector_id)
        return call_result.TriggerMessage(status=status)

    @after(Action.trigger_message)
    def after_trigger_message(self, **_: Any) -> None:
        """The answer has left: the requested messages follow, in order."""
        ready, self._ready = self._ready, []
        for message in ready:
            self.ctx.send(message)
