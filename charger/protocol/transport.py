"""The charger side of the WebSocket: security profile 1/2 connection to a CSMS."""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import NegotiationError
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from charger.protocol.tls import client_ssl_context

OCPP16 = Subprotocol("ocpp1.6")


async def connect_client(
    url: str,
    cp_id: str,
    password: str | None,
    ca_file: str | os.PathLike[str] | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    **kwargs: Any,
) -> ClientConnection:
    """Open an ``ocpp1.6`` WebSocket like a charger: Basic Auth ``cp_id:password``.

    A ``url`` ending in ``/`` gets ``cp_id`` appended (chargers are configured with
    the base URL). ``wss://`` verifies the server against ``ca_file`` unless an
    ``ssl_context`` is given (e.g. narrowed to one charger's cipher suites).
    ``password=None`` sends no Authorization header. Other keyword arguments go to
    ``websockets.asyncio.client.connect``. Raises ``NegotiationError`` if the server
    did not accept ``ocpp1.6`` (OCPP-J 1.6 3.1.2: it answers without the header).
    """
    if url.endswith("/"):
        url += quote(cp_id, safe="")
    if url.startswith("wss://") and ssl_context is None:
        ssl_context = client_ssl_context(ca_file) if ca_file else ssl.create_default_context()
    headers = {}
    if password is not None:
        headers["Authorization"] = build_authorization_basic(cp_id, password)
    kwargs.setdefault("proxy", None)  # a charger talks to its CSMS directly
    kwargs.setdefault("subprotocols", [OCPP16])  # overridable for negative tests
    connection = await connect(
        url,
        additional_headers=headers,
        ssl=ssl_context if url.startswith("wss://") else None,
        **kwargs,
    )
    if connection.subprotocol != OCPP16:
        await connection.close()
        raise NegotiationError(f"server did not accept subprotocol {OCPP16}")
    return connection
