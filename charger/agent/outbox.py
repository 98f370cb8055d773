"""One ordered pump for every outgoing CALL.

OCPP allows one outstanding CALL per connection and the Central System must see
messages in the order they happened. Messages that must survive power loss
(transaction messages, critical security events) are committed to the SQLite outbox
first and delivered from there in order, retried per TransactionMessageAttempts /
TransactionMessageRetryInterval; the rest (status, heartbeat, authorize) queue in
memory and are failed back to their sender when the connection goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from charger.agent.configuration import Configuration
from charger.agent.store import AgentStore
from charger.clock import Clock
from charger.protocol.errors import CallErrorReceived, NotConnected

if TYPE_CHECKING:
    from charger.agent.link import AgentLink

log = logging.getLogger("charger.agent.outbox")

#: Outbox actions that belong to a transaction: sent only once its start is confirmed.
TX_BOUND = ("StopTransaction", "MeterValues")

#: CALLERROR codes that say the Central System will never take this action.
UNSUPPORTED = ("NotImplemented", "NotSupported")


def _never_taken(action: str, exc: BaseException) -> bool:
    """A non-transaction message refused as unsupported: retrying cannot help."""
    code = getattr(exc, "code", None)
    return code in UNSUPPORTED and action not in ("StartTransaction", *TX_BOUND)


Answer = Callable[[str, dict[str, Any], dict[str, Any], int | None], None]


@dataclass
class _Direct:
    """A message that is not kept across power loss (status, heartbeat, authorize)."""

    payload: Any
    future: asyncio.Future | None = None


class _OutboxMarker:
    """Deliver what the SQLite outbox holds, in order, before anything queued later."""


class Outbox:
    """The pump: ``send``/``request`` (memory) and ``send_durable`` (SQLite first)."""

    def __init__(self, store: AgentStore, config: Configuration, clock: Clock) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.link: AgentLink | None = None  # set by the uplink while connected and accepted
        self.accepted = asyncio.Event()
        self.fifo: asyncio.Queue[_Direct | _OutboxMarker] = asyncio.Queue()
        #: Called with (action, sent payload, response, local_tx) for every delivered
        #: outbox message: the runtime learns transaction ids and idTagInfo from it.
        self.on_answer: Answer = lambda *_: None

    # --- what senders call ----------------------------------------------------

    def send(self, payload: Any) -> None:
        """Queue a CALL in order; nobody waits for its answer."""
        self.fifo.put_nowait(_Direct(payload))

    async def request(self, payload: Any) -> Any:
        """Send a CALL through the ordered pump and wait for its answer."""
        future = asyncio.get_running_loop().create_future()
        self.fifo.put_nowait(_Direct(payload, future))
        return await future

    def send_durable(
        self, action: str, payload: dict[str, Any], local_tx: int | None = None
    ) -> None:
        """Commit a CALL to the SQLite outbox, then deliver it in order (survives power loss)."""
        self.store.enqueue(local_tx, action, payload)
        self.kick()

    def kick(self) -> None:
        """Something was committed to the outbox: deliver it in its turn."""
        self.fifo.put_nowait(_OutboxMarker())

    # --- connection events ----------------------------------------------------

    def connected(self, link: AgentLink) -> None:
        self.link = link
        self.accepted.set()

    def disconnected(self) -> None:
        self.accepted.clear()
        self.link = None
        while not self.fifo.empty():
            item = self.fifo.get_nowait()
            if isinstance(item, _Direct) and item.future and not item.future.done():
                item.future.set_exception(ConnectionError("connection lost"))

    # --- the pump -------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.accepted.wait()
            item = await self.fifo.get()
            if isinstance(item, _OutboxMarker):
                await self._drain()
                continue
            link = self.link
            if link is None:
                if item.future and not item.future.done():
                    item.future.set_exception(ConnectionError("offline"))
                continue
            try:
                response = await link.request(item.payload)
            except Exception as exc:  # noqa: BLE001 - the caller decides what it means
                if item.future and not item.future.done():
                    item.future.set_exception(exc)
                else:
                    log.warning("%s failed: %s", type(item.payload).__name__, exc)
                continue
            if item.future and not item.future.done():
                item.future.set_result(response)

    async def _drain(self) -> None:
        while self.accepted.is_set():
            item = self.store.head()
            if item is None:
                return
            link = self.link
            if link is None:
                return
            payload = dict(item.payload)
            if item.action in TX_BOUND and item.local_tx is not None:
                tx = self.store.transaction(item.local_tx)
                if tx is None or tx.csms_id is None:
                    log.error("dropping %s: its StartTransaction was never confirmed", item.action)
                    self.store.done(item.seq)
                    continue
                payload["transaction_id"] = tx.csms_id
            try:
                response = await link.request(getattr(call, item.action)(**payload))
            except (CallErrorReceived, OCPPError, TimeoutError) as exc:
                if link is not self.link:
                    continue  # the connection went away: not the CSMS's failure to process
                if _never_taken(item.action, exc):
                    # A Central System without the security extension: retrying only holds
                    # every later message (the StatusNotifications after boot) back.
                    log.warning("%s: the Central System does not take it: %s", item.action, exc)
                    self.store.done(item.seq)
                    continue
                attempts = self.store.count_attempt(item.seq)
                log.warning("%s attempt %s failed: %s", item.action, attempts, exc)
                if attempts >= max(1, self.config.int("TransactionMessageAttempts")):
                    log.error("giving up on %s after %s attempts", item.action, attempts)
                    self.store.done(item.seq)
                else:
                    await self.clock.sleep(
                        self.config.int("TransactionMessageRetryInterval") * attempts
                    )
                continue
            except (NotConnected, websockets.ConnectionClosed):
                return
            self.on_answer(item.action, item.payload, response, item.local_tx)
            self.store.done(item.seq)
