"""The agent's side of the OCPP connection: inbound CALLs routed to the features.

Each feature carries its own ``@on``/``@after`` handlers; this link answers with the
union of their routes (an action no feature handles is NotSupported). Handlers stay
synchronous and short: follow-ups run as tasks, never inside ``@on``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ocpp.routing import create_route_map

from charger.protocol.frames import MalformedFrame
from charger.protocol.link import Link

if TYPE_CHECKING:
    from charger.agent.feature import Feature


class AgentLink(Link):
    def __init__(self, cp_id: str, connection: Any, features: Iterable[Feature], **kwargs: Any):
        super().__init__(cp_id, connection, **kwargs)
        self.features = list(features)
        self._invalid_reported = False
        for feature in self.features:
            for action, handlers in create_route_map(feature).items():
                if action in self.route_map:
                    raise ValueError(f"two features handle {action}")
                self.route_map[action] = handlers

    async def _reject(self, bad: MalformedFrame) -> None:
        """A malformed frame: answered as the shared link does, and told to the features
        once per connection (the security log's InvalidMessages)."""
        await super()._reject(bad)
        if not self._invalid_reported:
            self._invalid_reported = True
            for feature in self.features:
                feature.on_invalid_message(f"{bad}: {bad.text[:100]!r}")
