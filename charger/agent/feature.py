"""How a feature plugs into the agent: a small context in, OCPP handlers out.

Each feature (firmware, diagnostics, smart charging, reservations, local list,
remote trigger, security, ...) is a :class:`Feature` built from a :class:`Context`
— the store, the configuration keys, the clock, the connectors' state and the
ordered outbox to send through — in the shape of EVerest's functional blocks. Its
inbound CALLs are ``@on``/``@after`` methods on the feature itself; the agent's
link merges every feature's routes. No feature holds the runtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from charger.agent.configuration import Configuration
from charger.agent.connector import ConnectorLogic
from charger.agent.outbox import Outbox
from charger.agent.settings import AgentSettings
from charger.agent.slots import running_version
from charger.agent.store import AgentStore
from charger.clock import Clock


class Context:
    """What a feature may use of the charger."""

    def __init__(
        self,
        settings: AgentSettings,
        config: Configuration,
        store: AgentStore,
        clock: Clock,
        connectors: Mapping[int, ConnectorLogic],
        outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self.clock = clock
        self.connectors = connectors
        self.outbox = outbox
        #: set by a Reset or a firmware install: the process exits to be restarted
        self.reboot = asyncio.Event()
        self._background: set[asyncio.Task] = set()

    @property
    def accepted(self) -> asyncio.Event:
        """Set while connected and the BootNotification was accepted."""
        return self.outbox.accepted

    def send(self, payload: Any) -> None:
        """A CALL through the ordered pump, not kept across power loss."""
        self.outbox.send(payload)

    async def request(self, payload: Any) -> Any:
        """A CALL through the ordered pump; its CALLRESULT payload (camelCase keys)."""
        return await self.outbox.request(payload)

    def send_durable(self, action: str, payload: dict[str, Any]) -> None:
        """A CALL committed to SQLite first: delivered in order, across power loss."""
        self.outbox.send_durable(action, payload)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run follow-up work after an answer; kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def transaction_active(self) -> bool:
        return any(c.tx_active for c in self.connectors.values())

    def firmware_version(self) -> str:
        """The active A/B slot's version (the settings' when running from the tree)."""
        return running_version(self.settings.state_dir, self.settings.firmware_version)


class Feature:
    """One functional block. Subclasses add ``@on``/``@after`` handlers and hooks."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        """After the hardware is up, before the first connection (resume work here)."""

    def on_accepted(self) -> None:
        """A BootNotification was accepted (on every connection)."""

    def triggered(self, requested: str, connector_id: int | None) -> list[Any] | None:
        """The messages TriggerMessage/ExtendedTriggerMessage ``requested`` asks of this
        feature, built now; None if the message is not this feature's."""
        return None

    def on_invalid_message(self, description: str) -> None:
        """The Central System sent a frame that is no valid OCPP message (answered with a
        CALLERROR by the link); once per connection."""

    def close(self) -> None:
        """The agent is going down."""
