"""The WebSocket handshake of the Central System: one listener per security profile.

Mixed into ``CentralSystem``. Per port (its profile): the path names a registered
charge point (else 404, OCPP-J 1.6 3.1.1); the charge point's own profile, or the higher
one it accepted and has not connected with yet, is the port's (else 401, whitepaper:
one profile at a time); then profile 1/2 check HTTP Basic auth through
:class:`bench.csms.credentials.CredentialChecker` (cached, backed off), profile 3 the
client certificate's CN (the TLS layer verified its chain to the CPO CA). A charge
point that connects with its pending key or profile makes it its own.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, basic_auth, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from charger.protocol.transport import OCPP16

if TYPE_CHECKING:
    from bench.csms.credentials import CredentialChecker
    from bench.csms.store import Store

LOG = logging.getLogger("bench.csms.server")

PATH_PREFIX = "/ocpp/"
HANDSHAKE_TIMEOUT_S = 60.0  # TLS + HTTP upgrade, from the TCP accept
REALM = "OCPP"


class Handshake:
    """Listening and admitting charge points (``CentralSystem`` gives the attributes)."""

    host: str
    store: Store
    credentials: CredentialChecker

    if TYPE_CHECKING:

        @property
        def main_profile(self) -> int: ...

        async def _serve_connection(self, connection: ServerConnection) -> None: ...

    async def _listen(self, profile: int, port: int, context: ssl.SSLContext | None) -> Server:
        async def process_request(connection: ServerConnection, request: Request):
            return await self._authenticate(connection, request, profile)

        return await serve(
            self._serve_connection,
            self.host,
            port,
            ssl=context,
            subprotocols=[OCPP16],
            select_subprotocol=_select_ocpp16,
            process_request=process_request,
            # A restart brings the whole fleet back at once; its TLS handshakes queue on
            # the loop. websockets' 10 s default dropped those still waiting, and their
            # retries piled onto the queue: wait longer, an idle socket still goes.
            open_timeout=HANDSHAKE_TIMEOUT_S,
        )

    async def _authenticate(
        self, connection: ServerConnection, request: Request, profile: int
    ) -> Response | None:
        """404 for an unknown id, 401 for a wrong profile or credentials (whitepaper:
        a charge point connecting with another profile than its own is refused)."""
        cp_id = _cp_id_from_path(request.path)
        cp = self.store.charge_point(cp_id) if cp_id else None
        if cp_id is None or cp is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown charge point\n")
        sec = self.store.security(cp_id) or {"profile": self.main_profile}
        allowed = {sec["profile"], sec.get("pending_profile")}
        source = str((connection.remote_address or ("?",))[0])
        if profile not in allowed:
            LOG.warning("%s: refused on the profile-%d port (uses %s)", cp_id, profile, sec)
            await self.credentials.refuse(source, cp_id)
            return _unauthorized(
                connection,
                f"charge point {cp_id} uses security profile {sec['profile']}; "
                f"this port serves profile {profile}",
            )
        if profile == 3:
            return await self._check_client_certificate(connection, cp_id, source, sec)
        stored_hash = cp["password_hash"] or ""
        pending = sec.get("pending_hash")

        async def check_credentials(username: str, password: str) -> bool:
            if username != cp_id:
                await self.credentials.refuse(source, cp_id)
                return False
            if await self.credentials.matches(cp_id, password, stored_hash):
                self._connected_with(cp_id, profile, sec)
                return True
            if pending and await self.credentials.matches(cp_id, password, pending):
                # The charge point uses its new AuthorizationKey: the old one is void now.
                self.store.put_charge_point(cp_id, pending)
                self.store.clear_pending_security(cp_id, key=True)
                self.credentials.forget(cp_id)
                self._connected_with(cp_id, profile, sec)
                LOG.info("%s: connected with its new AuthorizationKey", cp_id)
                return True
            await self.credentials.refuse(source, cp_id)
            return False

        return await basic_auth(realm=REALM, check_credentials=check_credentials)(
            connection, request
        )

    async def _check_client_certificate(
        self, connection: ServerConnection, cp_id: str, source: str, sec: dict[str, Any]
    ) -> Response | None:
        """Profile 3: the TLS layer verified the chain to the CPO CA; the subject's CN
        must be the charge point id of the URL. No Basic auth."""
        ssl_object = connection.transport.get_extra_info("ssl_object")
        peer = ssl_object.getpeercert() if ssl_object is not None else None
        names = [v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
        if names != [cp_id]:
            await self.credentials.refuse(source, cp_id)
            return _unauthorized(
                connection, f"the client certificate's subject {names} is not {cp_id}"
            )
        connection.username = cp_id
        self._connected_with(cp_id, 3, sec)
        return None

    def _connected_with(self, cp_id: str, profile: int, sec: dict[str, Any]) -> None:
        """A charge point that connects with its pending higher profile now has it."""
        if profile != sec["profile"] and profile == sec.get("pending_profile"):
            self.store.set_security_profile(cp_id, profile)
            LOG.info("%s: now on security profile %d", cp_id, profile)


def handshake_record(
    cp_id: str, connection: ServerConnection, ports: dict[int, int], now: str
) -> dict[str, Any]:
    """What a connection's handshake showed: the profile of the port it came in on, the
    Basic-auth user, the TLS version and suite, the client certificate (PEM) if any."""
    local_port = (connection.local_address or ("", 0))[1]
    ssl_object = connection.transport.get_extra_info("ssl_object")
    peer = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return {
        "cp_id": cp_id,
        "ts": now,
        "profile": next((p for p, port in ports.items() if port == local_port), None),
        "username": getattr(connection, "username", None),
        "tls_version": ssl_object.version() if ssl_object is not None else None,
        "cipher": ssl_object.cipher()[0] if ssl_object is not None else None,
        "client_certificate": ssl.DER_cert_to_PEM_cert(peer) if peer else None,
    }


def _unauthorized(connection: ServerConnection, message: str) -> Response:
    response = connection.respond(HTTPStatus.UNAUTHORIZED, message + "\n")
    response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


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
