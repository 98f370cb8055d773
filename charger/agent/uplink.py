"""The charger's connection to its Central System: connect, boot, heartbeat, reconnect.

How to connect (URL, TLS context, credentials) is asked of a :class:`ConnectionPlan`
on every attempt, and every attempt's outcome is reported back to it: the security
profile in force, a pending upgrade and its fallback live there, not here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from charger.agent.configuration import Configuration
from charger.agent.outbox import Outbox
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.protocol.errors import CallErrorReceived
from charger.protocol.transport import OCPP16

if TYPE_CHECKING:
    from charger.agent.link import AgentLink

log = logging.getLogger("charger.agent")

GOING_AWAY = 1001  # RFC 6455: the endpoint is going away (a commanded reboot)


@dataclass(frozen=True)
class Connection:
    """One connection attempt: where, over what, with which credentials."""

    url: str
    ssl: ssl.SSLContext | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ConnectionPlan(Protocol):
    def next_attempt(self) -> Connection: ...

    def outcome(self, connection: Connection, error: BaseException | None) -> None:
        """``error`` None: the connection was opened (the handshake succeeded)."""


class BasicAuthPlan:
    """Security profiles 0-3 as provisioned: Basic auth with AuthorizationKey; TLS for
    a ``wss://`` URL, verified against the provisioned CA, with the provisioned client
    certificate if there is one."""

    def __init__(self, settings: AgentSettings, config: Configuration) -> None:
        self.settings = settings
        self.config = config

    def next_attempt(self) -> Connection:
        s = self.settings
        url = s.csms_url.rstrip("/") + "/" + s.charge_point_id
        context = None
        if url.startswith("wss://"):
            context = ssl.create_default_context(cafile=s.ca_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if s.client_cert_file:  # profile 3 with a provisioned client certificate
                context.load_cert_chain(s.client_cert_file, s.client_key_file)
        headers = {}
        password = self.config.get("AuthorizationKey")
        if password and self.config.int("SecurityProfile") > 0:
            raw = f"{s.charge_point_id}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return Connection(url, context, headers)

    def outcome(self, connection: Connection, error: BaseException | None) -> None:
        pass


class Uplink:
    """Keeps the charger connected and registered (BootNotification once per power-up)."""

    def __init__(
        self,
        settings: AgentSettings,
        config: Configuration,
        clock: Clock,
        outbox: Outbox,
        make_link: Callable[[Any], AgentLink],
        boot_payload: Callable[[], Any],
        on_accepted: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.make_link = make_link
        self.boot_payload = boot_payload
        self.on_accepted = on_accepted
        self.plan: ConnectionPlan = BasicAuthPlan(settings, config)
        self.registration: str | None = None  # the last BootNotification status
        self.booted = False  # BootNotification is once per power-up, not per connection
        self.ws: Any = None
        self.link: AgentLink | None = None  # while connected, booted or not
        self._heartbeat_changed = asyncio.Event()
        self._reconnect = asyncio.Event()
        config.listeners.append(self._config_changed)

    def _config_changed(self, key: str, _: str) -> None:
        if key == "HeartbeatInterval":
            self._heartbeat_changed.set()  # a new interval applies now, not after the old one

    def reconnect(self) -> None:
        """Drop the connection and connect again with what the plan says now."""
        self._reconnect.set()

    async def close(self) -> None:
        """Going down on purpose (Reset, firmware): close 1001, not 1011, once the
        answers in progress have left."""
        ws, link = self.ws, self.link
        if ws is not None:
            if link is not None:
                await self._quiesce(link)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(GOING_AWAY, "rebooting"), 2.0)

    async def _quiesce(self, link: AgentLink) -> None:
        """Closing while a CALL of the Central System is being answered would lose the
        answer (e.g. a Reset right after a key change asked for a reconnect)."""
        deadline = asyncio.get_running_loop().time() + self.settings.response_timeout_s
        while link.answering() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    async def run(self) -> None:
        backoff = 1.0
        while True:
            attempt = self.plan.next_attempt()
            ping = self.config.int("WebSocketPingInterval") or None
            opened = False
            try:
                async with websockets.connect(
                    attempt.url,
                    subprotocols=[OCPP16],
                    ssl=attempt.ssl,
                    additional_headers=attempt.headers,
                    ping_interval=ping,
                    open_timeout=10,
                    proxy=None,
                ) as ws:
                    opened = True
                    self.plan.outcome(attempt, None)
                    backoff = 1.0
                    self.ws = ws
                    await self._session(ws)
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("CSMS connection: %s", exc)
                if not opened:
                    self.plan.outcome(attempt, exc)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bad answer must not kill the charger
                log.exception("CSMS session failed")
            finally:
                self.ws = None
            if self._reconnect.is_set():
                self._reconnect.clear()
                continue  # asked for: at once, with the new plan
            await self.clock.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, 30.0)

    async def _session(self, ws: Any) -> None:
        link = self.link = self.make_link(ws)
        reader = asyncio.create_task(link.run())
        waiters: list[asyncio.Task] = []
        try:
            booted = asyncio.create_task(self._boot(link) if not self.booted else asyncio.sleep(0))
            done, _ = await asyncio.wait({reader, booted}, return_when=asyncio.FIRST_COMPLETED)
            if booted not in done:
                booted.cancel()
                return
            booted.result()
            self.booted = True
            self.registration = "Accepted"
            self.outbox.connected(link)
            self.on_accepted()
            self._reconnect.clear()
            waiters = [
                asyncio.create_task(self._heartbeats()),
                asyncio.create_task(self._reconnect.wait()),
            ]
            await asyncio.wait({reader, waiters[1]}, return_when=asyncio.FIRST_COMPLETED)
            if self._reconnect.is_set() and not reader.done():
                await self._quiesce(link)  # let an answer in progress leave first
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(1000, "reconnecting"), 2.0)
        finally:
            self.outbox.disconnected()
            self.link = None
            for task in (reader, *waiters):
                task.cancel()

    async def _boot(self, link: AgentLink) -> None:
        while True:
            response = await link.request(self.boot_payload())
            interval = int(response.get("interval", 0))
            self.registration = response["status"]
            if response["status"] == "Accepted":
                if interval > 0:
                    self.config.set_internal("HeartbeatInterval", str(interval))
                log.info("boot accepted; heartbeat every %s s", interval)
                return
            wait = interval if interval > 0 else 30
            log.info("boot %s; retrying in %s s", response["status"], wait)
            await self.clock.sleep(wait)

    async def _heartbeats(self) -> None:
        while True:
            self._heartbeat_changed.clear()
            interval = self.config.int("HeartbeatInterval")
            changed = asyncio.create_task(self._heartbeat_changed.wait())
            try:
                await asyncio.wait_for(changed, self.clock.wall(interval))
                continue  # a new HeartbeatInterval: start counting it now
            except TimeoutError:
                pass
            try:
                await self.outbox.request(call.Heartbeat())
            except (CallErrorReceived, OCPPError, TimeoutError, ConnectionError) as exc:
                log.warning("heartbeat: %s", exc)
