"""The bench's Central System: WebSocket server, charge point registry, scenario API.

Each charge point has a security profile (1, 2 or 3, stored with it) and each port serves
one profile: the main port 2 (TLS + Basic auth; 1 when started without TLS), optional
``plain_port`` 1 (plain ws + Basic auth, off unless asked for) and ``client_cert_port`` 3
(TLS with a client certificate issued by the CPO CA whose subject CN is the charge point
id; no Basic auth). A charge point that connects on another profile's port is refused
with 401 (whitepaper: one profile at a time); a higher profile it accepted through
ChangeConfiguration SecurityProfile is allowed next to the old one until it has
connected with it.

Handshake rules (OCPP-J 1.6 section 3 and the security whitepaper):

* path ``/ocpp/<chargePointId>``; an id that is not registered gets HTTP 404, as
  OCPP-J 1.6 3.1.1 asks ("SHOULD send an HTTP response with status 404"). It is
  checked before the credentials so a misconfigured URL is told apart from a wrong
  password; the cost is that ids can be probed, acceptable on a bench network.
* HTTP Basic Auth: username = that id, password checked against the stored hash
  (:mod:`bench.csms.credentials`: cached once verified, back-off on failures); anything
  else gets HTTP 401 with ``WWW-Authenticate`` (websockets' ``basic_auth``).
* subprotocol ``ocpp1.6``: a client that does not offer it is answered without the
  Sec-WebSocket-Protocol header and the connection is then closed (1002), as
  OCPP-J 1.6 3.1.2 prescribes, instead of websockets' default HTTP 400.

A charge point that connects again replaces its previous connection.

Options around the OCPP server, all off or local by default:

* ``ftp``: the embedded FTP server (:mod:`bench.ftp`) for firmware and diagnostics,
  rooted at ``<state>/ftp`` with this rig's credentials in ``<state>/ftp.json``.
  True starts it with the CSMS, False never, None (default) on first need
  (UpdateFirmware by file name, GetDiagnostics without a location).
* ``api_port``: the HTTP JSON API (:mod:`bench.csms.http_api`) on ``api_host``
  (127.0.0.1); None (default) = no API. Its URL goes to ``<state>/api.json`` for
  ``bench csms``.
* ``octt_compatible`` (default True): the CSMS sends nothing unsolicited - no
  GetConfiguration after a boot or a ChangeConfiguration, as the OCTT's charge point
  expects. False: after an Accepted boot it reads the configuration
  (GetConfiguration) and keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import ssl
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.frames import CloseCode

from bench.csms.chargepoints import ChargePointRegistry
from bench.csms.credentials import CredentialChecker
from bench.csms.frame_log import FrameRing
from bench.csms.handlers import VendorHook
from bench.csms.handshake import PATH_PREFIX, Handshake, handshake_record
from bench.csms.operations import OperationError, Operations
from bench.csms.security_ops import SecurityOperations
from bench.csms.session import ChargePointSession
from bench.csms.store import Store
from bench.csms.trace import Entry, FrameTrace, Predicate
from bench.security.backoff import Backoff
from bench.security.ca import CertificateAuthority, cpo_ca, manufacturer_ca
from bench.security.passwords import hash_password
from bench.security.private import write_private
from charger.clock import Clock, iso
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.frames import CALL
from charger.protocol.times import parse_ocpp_time
from charger.protocol.transport import OCPP16

LOG = logging.getLogger(__name__)

DB_NAME = "csms.sqlite3"
BOOT_STATUSES = ("Accepted", "Pending", "Rejected")
ID_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


class CentralSystem(Handshake, ChargePointRegistry, SecurityOperations, Operations):
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
        ftp: bool | None = None,
        ftp_host: str = "127.0.0.1",
        ftp_port: int = 0,
        ftp_public_host: str | None = None,
        ftp_passive_ports: range | None = None,
        api_port: int | None = None,
        api_host: str = "127.0.0.1",
        api_token: str | None = None,
        octt_compatible: bool = True,
        pki_dir: str | Path | None = None,
        plain_port: int | None = None,
        client_cert_port: int | None = None,
        client_cert_ssl_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
    ):
        self.clock = clock or Clock.from_env()
        db_path = _db_path(state)
        self.store = Store(db_path)
        #: Where files live next to the database (None for an in-memory CSMS).
        self.state_dir: Path | None = None if db_path == ":memory:" else Path(db_path).parent
        self.host = host
        self.ssl_context = ssl_context
        self.response_timeout = response_timeout
        self.frames = FrameTrace(self.clock, self.state_dir)
        self.octt_compatible = octt_compatible
        self.vendor_hooks: dict[str, VendorHook] = {}
        self.ftp_mode = ftp
        self.ftp_host = ftp_host
        self.ftp_port = ftp_port
        self.ftp_public_host = ftp_public_host
        self.ftp_passive_ports = ftp_passive_ports
        self.api_host = api_host
        self.api_port = api_port
        self.api_token = api_token
        self.api_url: str | None = None
        self.started_at: float | None = None
        self._ftp = None
        self._ftp_tmp: str | None = None
        self._api_server: Any = None
        self._api_thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port = port
        self._server: Server | None = None
        #: Ports per security profile besides the main one (None: off): profile 1 on
        #: plain ws, profile 3 on TLS with client certificates (no Basic auth).
        self._extra_ports: dict[int, int] = {}
        if plain_port is not None:
            self._extra_ports[1] = plain_port
        if client_cert_port is not None:
            if client_cert_ssl_context is None:
                raise ValueError("client_cert_port needs client_cert_ssl_context")
            self._extra_ports[3] = client_cert_port
        self.client_cert_ssl_context = client_cert_ssl_context
        self._extra_servers: dict[int, Server] = {}
        self.credentials = CredentialChecker(backoff)
        self._sessions: dict[str, ChargePointSession] = {}
        #: Every accepted connection as the handshake left it (see :func:`_handshake`).
        self.connections: list[dict[str, Any]] = []
        #: Sign an Accepted SignCertificate's CSR and send CertificateSigned; a test that
        #: sends its own (e.g. an invalid chain) turns this off.
        self.auto_certificate_signed = True
        self._connected = asyncio.Condition()
        self._tasks: set[asyncio.Task] = set()
        self._follow_up: dict[str, dict[str, str]] = {}
        #: The CPO CA (``ca.pem``/``ca.key``, bench.security.pki) and ``manufacturer/``;
        #: None: in a temporary directory made on first need.
        self.pki_dir: Path | None = Path(pki_dir) if pki_dir is not None else None
        self._pki_tmp: str | None = None
        self._cpo_ca: CertificateAuthority | None = None
        self._manufacturer_ca: CertificateAuthority | None = None

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.started_at = self.clock.time()
        self._server = await self._listen(self.main_profile, self._port, self.ssl_context)
        self._port = self._server.sockets[0].getsockname()[1]
        LOG.info("CSMS listening on %s", self.url("<id>"))
        for profile, port in sorted(self._extra_ports.items()):
            context = None if profile == 1 else self.client_cert_ssl_context
            server = await self._listen(profile, port, context)
            self._extra_servers[profile] = server
            self._extra_ports[profile] = server.sockets[0].getsockname()[1]
            LOG.info("CSMS profile %d on %s", profile, self.url("<id>", profile))
        if self.ftp_mode:
            self.ftp_server()
        if self.api_port is not None:
            await self.start_api(self.api_port, self.api_host, self.api_token)

    async def stop(self) -> None:
        """Close every connection and the listening socket, the API, FTP, the database."""
        for task in list(self._tasks):
            task.cancel()
        await self.stop_api()
        for server in [self._server, *self._extra_servers.values()]:
            if server is not None:
                server.close()
                await server.wait_closed()
        self._server = None
        self._extra_servers.clear()
        if self._ftp is not None:
            await asyncio.to_thread(self._ftp.stop)
            self._ftp = None
        if self._ftp_tmp is not None:
            shutil.rmtree(self._ftp_tmp, ignore_errors=True)
            self._ftp_tmp = None
        if self._pki_tmp is not None:
            shutil.rmtree(self._pki_tmp, ignore_errors=True)
            self._pki_tmp = None
        self.store.close()
        self.frames.close()

    # -- certificate authorities -------------------------------------------------------------

    def _pki(self) -> Path:
        if self.pki_dir is None:
            self._pki_tmp = tempfile.mkdtemp(prefix="bench-csms-pki-")
            self.pki_dir = Path(self._pki_tmp)
        return self.pki_dir

    def cpo_ca(self) -> CertificateAuthority:
        """The CA that signs charge point certificates (and the CSMS's server certificate)."""
        if self._cpo_ca is None:
            self._cpo_ca = cpo_ca(self._pki())
        return self._cpo_ca

    def manufacturer_ca(self) -> CertificateAuthority:
        """The CA that issues firmware-signing certificates (SignedUpdateFirmware)."""
        if self._manufacturer_ca is None:
            self._manufacturer_ca = manufacturer_ca(self._pki() / "manufacturer")
        return self._manufacturer_ca

    def serves_profile(self, profile: int) -> bool:
        return profile == self.main_profile or profile in self._extra_ports

    @property
    def main_profile(self) -> int:
        """The main port's security profile: 2 with TLS, 1 on plain ws."""
        return 2 if self.ssl_context is not None else 1

    # -- FTP --------------------------------------------------------------------------

    def ftp_server(self):  # -> bench.ftp.FtpServer
        """The FTP server, started on first use unless ``ftp=False``."""
        if self._ftp is not None:
            return self._ftp
        if self.ftp_mode is False:
            raise OperationError(
                "the CSMS's FTP server is off (ftp=False): give an explicit location"
            )
        from bench.ftp import FtpServer

        if self.state_dir is not None:
            root, credentials = self.state_dir / "ftp", self.state_dir / "ftp.json"
        else:
            self._ftp_tmp = tempfile.mkdtemp(prefix="bench-csms-ftp-")
            root = Path(self._ftp_tmp) / "ftp"
            credentials = Path(self._ftp_tmp) / "ftp.json"
        server = FtpServer(
            root,
            credentials,
            host=self.ftp_host,
            port=self.ftp_port,
            public_host=self.ftp_public_host,
            passive_ports=self.ftp_passive_ports,
        )
        server.start()
        self._ftp = server
        return server

    @property
    def ftp(self):  # -> bench.ftp.FtpServer | None
        """The FTP server if it runs (see :meth:`ftp_server`)."""
        return self._ftp

    def add_firmware(self, name: str, data: bytes | str | os.PathLike[str]) -> dict[str, Any]:
        """Put a firmware image into the FTP store (starting the FTP server if needed)."""
        return self.ftp_server().add_firmware(name, data)

    def firmware_files(self) -> list[dict[str, Any]]:
        return self._ftp.firmware_files() if self._ftp else []

    def diagnostics_files(self) -> list[dict[str, Any]]:
        return self._ftp.diagnostics_files() if self._ftp else []

    # -- HTTP API ---------------------------------------------------------------------

    async def start_api(
        self, port: int = 0, host: str = "127.0.0.1", token: str | None = None
    ) -> str:
        """Serve the HTTP JSON API (a thread); returns its base URL.

        Bound to 127.0.0.1 by default. A bearer token is always required (generated
        when not given, written with the URL to ``<state>/api.json``, 0600, where
        ``bench csms`` reads it).
        """
        from werkzeug.serving import WSGIRequestHandler, make_server

        from bench.csms.http_api import create_app

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log
                LOG.debug("API %s %s", self.command, self.path)

        if self._api_server is not None:
            return str(self.api_url)
        if not token:  # on 127.0.0.1 too: any local user could otherwise operate it
            import secrets

            token = secrets.token_urlsafe(24)
        self.api_token = token
        app = create_app(self, token=token)
        server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self._api_server = server
        shown = f"[{host}]" if ":" in host else host
        self.api_url = f"http://{shown}:{server.server_port}"
        self._api_thread = threading.Thread(
            target=server.serve_forever, name="bench-csms-api", daemon=True
        )
        self._api_thread.start()
        if self.state_dir is not None:
            api = {"url": self.api_url, "token": token}
            write_private(self.state_dir / "api.json", json.dumps(api, indent=2))
        LOG.info("CSMS API on %s", self.api_url)
        return self.api_url

    async def stop_api(self) -> None:
        server, self._api_server = self._api_server, None
        if server is None:
            return
        await asyncio.to_thread(server.shutdown)
        server.server_close()
        if self.state_dir is not None:
            with contextlib.suppress(OSError):
                (self.state_dir / "api.json").unlink()
        self.api_url = None

    def run_on_loop(self, coro: Any, timeout: float | None = None) -> Any:
        """From another thread (the API): run ``coro`` on the CSMS's loop, wait for it."""
        if self._loop is None or self._loop.is_closed():
            coro.close()
            raise RuntimeError("the Central System is not running")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def call_on_loop(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """From another thread: call ``fn`` on the loop thread (the store is not shared)."""

        async def run() -> Any:
            return fn(*args, **kwargs)

        return self.run_on_loop(run(), timeout=30)

    # -- vendor hooks, boot follow-up ------------------------------------------------------

    def add_vendor_hook(self, vendor_id: str, hook: VendorHook) -> None:
        """Answer DataTransfer from ``vendor_id``: ``hook(cp_id, messageId, data)``."""
        self.vendor_hooks[vendor_id] = hook

    def remove_vendor_hook(self, vendor_id: str) -> None:
        self.vendor_hooks.pop(vendor_id, None)

    def spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_answered(
        self, session: ChargePointSession, action: str, request: dict, response: dict
    ) -> None:
        """After a charge point's CALL is answered: follow-ups, never in OCTT mode unasked.

        SignCertificate Accepted: the CA signs the CSR and the CSMS sends CertificateSigned
        from a task (never from the handler, which would deadlock on the link)."""
        if action not in ("BootNotification", "SignCertificate"):
            return
        if action == "SignCertificate" and response.get("status") == "Accepted":
            if not self.auto_certificate_signed:
                return
            self.spawn(self._send_signed_certificate(session.id, request["csr"]))
            return
        status = response.get("status")
        follow_up = self._follow_up.get(session.id)
        if status == "Pending" and follow_up:
            self.spawn(self._configure_pending(session.id, follow_up))
        elif status == "Accepted" and not self.octt_compatible:
            self.spawn(self._read_configuration(session.id))

    async def _configure_pending(self, cp_id: str, config: dict[str, str]) -> None:
        """Boot policy Pending with follow-up configuration: set it, then accept the boot."""
        try:
            for key, value in config.items():
                await self.change_configuration(cp_id, key, value)
            cp = self.store.charge_point(cp_id)
            interval = cp["heartbeat_interval"] if cp else 60
            self.store.set_boot_policy(cp_id, "Accepted", interval)
            self._follow_up.pop(cp_id, None)
            await self.trigger_message(cp_id, "BootNotification")
        except (NotConnected, CallErrorReceived, TimeoutError, OperationError) as exc:
            LOG.warning("%s: follow-up configuration stopped: %s", cp_id, exc)

    async def _send_signed_certificate(self, cp_id: str, csr: str) -> None:
        try:
            await self.certificate_signed(cp_id, csr=csr)
        except (NotConnected, CallErrorReceived, TimeoutError, OperationError) as exc:
            LOG.warning("%s: CertificateSigned after SignCertificate failed: %s", cp_id, exc)

    async def _read_configuration(self, cp_id: str) -> None:
        try:
            await self.get_configuration(cp_id)
        except (NotConnected, CallErrorReceived, TimeoutError, OperationError) as exc:
            LOG.warning("%s: reading the configuration after boot failed: %s", cp_id, exc)

    async def __aenter__(self) -> CentralSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    def url(self, cp_id: str, profile: int | None = None) -> str:
        """The URL a charge point connects to: ``wss://host:port/ocpp/<id>``; with
        ``profile``, the port serving that security profile."""
        if profile is None or profile == self.main_profile:
            scheme = "wss" if self.ssl_context is not None else "ws"
            port = self._port
        elif profile in self._extra_ports:
            scheme, port = ("ws" if profile == 1 else "wss"), self._extra_ports[profile]
        else:
            raise ValueError(f"this CSMS serves no port for security profile {profile}")
        return f"{scheme}://{self.host}:{port}{PATH_PREFIX}{cp_id}"

    def profile_ports(self) -> dict[int, int]:
        """Security profile -> port, for every listener."""
        return {self.main_profile: self._port, **self._extra_ports}

    # -- registry --------------------------------------------------------------------

    def register_charge_point(
        self, cp_id: str, password: str | None, profile: int | None = None
    ) -> None:
        """Allow ``cp_id`` with this Basic-Auth password (stored only as a hash) and
        security ``profile`` (default: the main port's)."""
        self.store.put_charge_point(cp_id, hash_password(password) if password else None)
        self.credentials.forget(cp_id)
        if profile is not None or self.store.security(cp_id) is None:
            self.store.set_security_profile(cp_id, profile or self.main_profile)

    def disconnect_charge_point(self, cp_id: str) -> None:
        session = self._sessions.get(cp_id)
        if session is not None and not session.closed:
            self.spawn(session.close(CloseCode.POLICY_VIOLATION, "charge point removed"))

    def set_boot_policy(
        self,
        cp_id: str,
        status: str = "Accepted",
        interval: int = 60,
        follow_up: dict[str, str] | None = None,
    ) -> None:
        """How BootNotification is answered; ``interval`` is the HeartbeatInterval (s).

        ``follow_up`` (with Pending): configuration keys the CSMS sets once it has
        answered the boot Pending; then it accepts the charge point (the policy becomes
        Accepted) and asks for a new BootNotification (TriggerMessage).
        """
        if status not in BOOT_STATUSES:
            raise ValueError(f"boot status must be one of {BOOT_STATUSES}")
        if follow_up and status != "Pending":
            raise ValueError("a follow-up configuration goes with boot status Pending")
        self.store.set_boot_policy(cp_id, status, interval)
        if follow_up:
            self._follow_up[cp_id] = dict(follow_up)
        else:
            self._follow_up.pop(cp_id, None)

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

    def connected_ids(self) -> list[str]:
        return sorted(cp for cp in self._sessions if self.connected(cp))

    def charge_points(self) -> list[dict[str, Any]]:
        """Every registered charge point: connection, boot, heartbeat, connector statuses."""
        out = []
        for row in self.store.charge_points():
            statuses = self.store.connector_statuses(row["id"])
            out.append(
                {
                    **row,
                    "connected": self.connected(row["id"]),
                    "connectors": {
                        str(c): {
                            "status": s["status"],
                            "error_code": s["error_code"],
                            "ts": s["ts"],
                        }
                        for c, s in statuses.items()
                    },
                }
            )
        return out

    def status(self) -> dict[str, Any]:
        """What the CSMS is and where it listens (for the API's /status)."""
        return {
            "ocpp_url": self.url("{chargePointId}"),
            "profile_ports": self.profile_ports(),
            "connected": self.connected_ids(),
            "charge_points": len(self.store.charge_points()),
            "now": iso(self.clock.now()),
            "clock_speed": self.clock.speed,
            "started": iso(datetime.fromtimestamp(self.started_at, UTC))
            if self.started_at
            else None,
            "octt_compatible": self.octt_compatible,
            "response_timeout_s": self.response_timeout,
            "api": self.api_url,
            "ftp": self._ftp.info() if self._ftp else None,
            "state_dir": str(self.state_dir) if self.state_dir else None,
        }

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
    def trace(self) -> FrameRing:
        """The frames kept in memory, oldest first, indexed by their position among all
        (entries described in ``bench.csms.trace``; older ones are in ``frames.file``)."""
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
            vendor_hooks=self.vendor_hooks,
            on_answered=self._on_answered,
        )
        self.connections.append(
            handshake_record(cp_id, connection, self.profile_ports(), iso(self.clock.now()))
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
    parsed = parse_ocpp_time(value)
    assert parsed is not None
    return iso(parsed)
