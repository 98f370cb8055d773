"""The bench's Central System: WebSocket server, charge point registry, scenario API.

Handshake rules (OCPP-J 1.6 section 3 and the security whitepaper, profiles 1/2):

* path ``/ocpp/<chargePointId>``; an id that is not registered gets HTTP 404, as
  OCPP-J 1.6 3.1.1 asks ("SHOULD send an HTTP response with status 404"). It is
  checked before the credentials so a misconfigured URL is told apart from a wrong
  password; the cost is that ids can be probed, acceptable on a bench network.
* HTTP Basic Auth: username = that id, password checked against the stored scrypt
  hash; anything else gets HTTP 401 with ``WWW-Authenticate`` (websockets'
  ``basic_auth``).
* subprotocol ``ocpp1.6``: a client that does not offer it is answered without the
  Sec-WebSocket-Protocol header and the connection is then closed (1002), as
  OCPP-J 1.6 3.1.2 prescribes, instead of websockets' default HTTP 400.

A charge point that connects again replaces its previous connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, basic_auth, serve
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from bench.clock import Clock, iso
from bench.csms.operations import Operations
from bench.csms.session import ChargePointSession
from bench.csms.store import Store
from bench.csms.trace import Entry, FrameTrace, Predicate
from bench.protocol.errors import NotConnected
from bench.protocol.frames import CALL
from bench.protocol.transport import OCPP16
from bench.security.passwords import hash_password, verify_password

LOG = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"
REALM = "OCPP"
DB_NAME = "csms.sqlite3"
BOOT_STATUSES = ("Accepted", "Pending", "Rejected")
ID_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


class CentralSystem(Operations):
    """OCPP 1.6-J Central System for one bench.

    ``state``: a directory (the database is ``<state>/csms.sqlite3``), a database file
    path ending in ``.sqlite3``/``.sqlite``/``.db``, or ``":memory:"``. Timeouts given
    to its methods are in simulated seconds of ``clock``.
    """

    def __init__(
        self,
        state: str | Path = ":memory:",
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        *,
        response_timeout: float = 30.0,
    ):
        self.clock = clock or Clock.from_env()
        self.store = Store(_db_path(state))
        self.host = host
        self.ssl_context = ssl_context
        self.response_timeout = response_timeout
        self.frames = FrameTrace(self.clock)
        self._port = port
        self._server: Server | None = None
        self._sessions: dict[str, ChargePointSession] = {}
        self._connected = asyncio.Condition()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._server = await serve(
            self._serve_connection,
            self.host,
            self._port,
            ssl=self.ssl_context,
            subprotocols=[OCPP16],
            select_subprotocol=_select_ocpp16,
            process_request=self._authenticate,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        LOG.info("CSMS listening on %s", self.url("<id>"))

    async def stop(self) -> None:
        """Close every connection and the listening socket, then the database."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.store.close()

    async def __aenter__(self) -> CentralSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    def url(self, cp_id: str) -> str:
        """The URL a charge point connects to: ``wss://host:port/ocpp/<id>``."""
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://{self.host}:{self._port}{PATH_PREFIX}{cp_id}"

    # -- registry --------------------------------------------------------------------

    def register_charge_point(self, cp_id: str, password: str) -> None:
        """Allow ``cp_id`` with this Basic-Auth password (stored only as a hash)."""
        self.store.put_charge_point(cp_id, hash_password(password))

    def set_boot_policy(self, cp_id: str, status: str = "Accepted", interval: int = 60) -> None:
        """How BootNotification is answered; ``interval`` is the HeartbeatInterval (s)."""
        if status not in BOOT_STATUSES:
            raise ValueError(f"boot status must be one of {BOOT_STATUSES}")
        self.store.set_boot_policy(cp_id, status, interval)

    def add_id_tag(
        self,
        id_tag: str,
        status: str = "Accepted",
        expiry: datetime | str | None = None,
        parent: str | None = None,
    ) -> None:
        """Add or replace an idTag; ``expiry`` naive values are taken as UTC."""
        if status not in ID_TAG_STATUSES:
            raise ValueError(f"idTag status must be one of {ID_TAG_STATUSES}")
        self.store.put_id_tag(id_tag, status, _expiry(expiry), parent)

    # -- observation -------------------------------------------------------------------

    def connected(self, cp_id: str) -> bool:
        session = self._sessions.get(cp_id)
        return session is not None and not session.closed

    async def wait_connected(self, cp_id: str, timeout: float = 30.0) -> None:
        """Until ``cp_id`` has an open connection (``timeout`` in simulated seconds)."""
        async with self._connected:
            await asyncio.wait_for(
                self._connected.wait_for(lambda: self.connected(cp_id)),
                self.clock.wall(timeout),
            )

    def transactions(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return self.store.transactions(cp_id)

    def meter_values(self, transaction_id: int) -> list[dict[str, Any]]:
        return self.store.meter_values(transaction_id)

    def connector_status(self, cp_id: str, connector_id: int) -> str | None:
        return self.store.connector_status(cp_id, connector_id)

    @property
    def trace(self) -> list[Entry]:
        """Every frame so far, oldest first (entries described in ``bench.csms.trace``)."""
        return self.frames.entries

    def mark(self) -> int:
        """Trace index of the next frame: pass as ``since`` to ``wait_for``."""
        return self.frames.mark()

    async def wait_for(
        self,
        cp_id: str | None,
        action: str,
        predicate: Predicate | None = None,
        timeout: float = 30.0,
        since: int = 0,
    ) -> dict[str, Any]:
        """Payload of the first inbound ``action`` CALL from ``cp_id`` at/after ``since``."""
        entry = await self.wait_for_frame(cp_id, action, predicate, timeout, since)
        return entry["payload"]

    async def wait_for_frame(
        self,
        cp_id: str | None,
        action: str | None,
        predicate: Predicate | None = None,
        timeout: float = 30.0,
        since: int = 0,
        *,
        direction: str = "in",
        message_type: int = CALL,
    ) -> Entry:
        """Like :meth:`wait_for` but returns the trace entry (with its ``index``)."""
        return await self.frames.wait_for_frame(
            cp_id,
            action,
            predicate,
            timeout,
            since,
            direction=direction,
            message_type=message_type,
        )

    # -- CSMS-initiated ----------------------------------------------------------------

    async def call(
        self, cp_id: str, payload: Any, *, skip_schema_validation: bool = False
    ) -> dict[str, Any]:
        """Send an ``ocpp.v16.call`` request; returns the response's wire payload."""
        session = self._sessions.get(cp_id)
        if session is None or session.closed:
            raise NotConnected(f"charge point {cp_id!r} is not connected")
        return await session.request(payload, skip_schema_validation=skip_schema_validation)

    # -- WebSocket side ------------------------------------------------------------------

    async def _authenticate(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        cp_id = _cp_id_from_path(request.path)
        cp = self.store.charge_point(cp_id) if cp_id else None
        if cp is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown charge point\n")
        stored_hash = cp["password_hash"] or ""

        async def check_credentials(username: str, password: str) -> bool:
            if username != cp_id:
                return False
            # scrypt takes tens of ms: keep it off the event loop.
            return await asyncio.to_thread(verify_password, password, stored_hash)

        return await basic_auth(realm=REALM, check_credentials=check_credentials)(
            connection, request
        )

    async def _serve_connection(self, connection: ServerConnection) -> None:
        cp_id = connection.username
        if connection.subprotocol != OCPP16:
            await connection.close(CloseCode.PROTOCOL_ERROR, "subprotocol ocpp1.6 required")
            return
        session = ChargePointSession(
            cp_id,
            connection,
            self.store,
            self.clock,
            on_frame=self.frames.recorder(cp_id),
            response_timeout=self.clock.wall(self.response_timeout),
        )
        previous = self._sessions.get(cp_id)
        self._sessions[cp_id] = session
        if previous is not None:
            LOG.warning("%s: new connection replaces the previous one", cp_id)
            await previous.close(CloseCode.NORMAL_CLOSURE, "replaced by a new connection")
        await self._notify_connected()
        LOG.info("%s: connected", cp_id)
        try:
            await session.run()
        finally:
            if self._sessions.get(cp_id) is session:
                del self._sessions[cp_id]
            LOG.info("%s: disconnected", cp_id)

    async def _notify_connected(self) -> None:
        async with self._connected:
            self._connected.notify_all()


def _select_ocpp16(
    connection: ServerConnection, subprotocols: Sequence[Subprotocol]
) -> Subprotocol | None:
    return OCPP16 if OCPP16 in subprotocols else None


def _cp_id_from_path(path: str) -> str | None:
    route = urlsplit(path).path
    if not route.startswith(PATH_PREFIX):
        return None
    cp_id = unquote(route[len(PATH_PREFIX) :])
    return cp_id if cp_id and "/" not in cp_id else None


def _db_path(state: str | Path) -> str:
    if str(state) == ":memory:":
        return ":memory:"
    path = Path(state)
    if path.suffix in (".sqlite3", ".sqlite", ".db"):
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)
    path.mkdir(parents=True, exist_ok=True)
    return str(path / DB_NAME)


def _expiry(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed)
