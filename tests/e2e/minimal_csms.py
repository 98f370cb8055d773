"""A minimal Central System written for tests with the stock ``ocpp`` package only.

It shares no code with the bench's CSMS (``bench/csms``): ``websockets`` serves
wss with HTTP Basic auth, ``ocpp.v16.ChargePoint`` handles the charge point's
requests, and every request is kept in ``received`` for the test to look at. It
stands for "any Central System" our charger must work with.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.server import ServerConnection, basic_auth, serve

ACCEPTED_TAGS = {"0A00B1C2D3", "0A00E4F5A6"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Station(ChargePoint):
    """One connected charge point, as the ``ocpp`` package's examples write it."""

    csms: MinimalCsms

    def _keep(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.received.append((action, payload))
        self.csms.changed.set()

    @on(Action.boot_notification)
    def boot(self, **payload: Any) -> call_result.BootNotification:
        self._keep("BootNotification", payload)
        return call_result.BootNotification(
            current_time=_now(), interval=30, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def heartbeat(self, **payload: Any) -> call_result.Heartbeat:
        self._keep("Heartbeat", payload)
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def status(self, **payload: Any) -> call_result.StatusNotification:
        self._keep("StatusNotification", payload)
        return call_result.StatusNotification()

    @on(Action.authorize)
    def authorize(self, id_tag: str, **payload: Any) -> call_result.Authorize:
        self._keep("Authorize", {"id_tag": id_tag, **payload})
        return call_result.Authorize(id_tag_info={"status": self.csms.tag_status(id_tag)})

    @on(Action.start_transaction)
    def start_transaction(self, id_tag: str, **payload: Any) -> call_result.StartTransaction:
        transaction_id = next(self.csms.transaction_ids)
        self._keep("StartTransaction", {"id_tag": id_tag, "given_id": transaction_id, **payload})
        return call_result.StartTransaction(
            transaction_id=transaction_id,
            id_tag_info={"status": self.csms.tag_status(id_tag)},
        )

    @on(Action.stop_transaction)
    def stop_transaction(self, **payload: Any) -> call_result.StopTransaction:
        self._keep("StopTransaction", payload)
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def meter_values(self, **payload: Any) -> call_result.MeterValues:
        self._keep("MeterValues", payload)
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def data_transfer(self, **payload: Any) -> call_result.DataTransfer:
        self._keep("DataTransfer", payload)
        return call_result.DataTransfer(status="UnknownVendorId")


class MinimalCsms:
    """``async with MinimalCsms(cp_id, password, ssl_context) as csms``; ``csms.url``."""

    def __init__(self, cp_id: str, password: str, ssl_context: ssl.SSLContext) -> None:
        self.cp_id = cp_id
        self.password = password
        self.ssl_context = ssl_context
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.transaction_ids = itertools.count(501)
        self.station: _Station | None = None
        self.connections = 0
        self._server: Any = None

    @staticmethod
    def tag_status(id_tag: str) -> str:
        ok = id_tag in ACCEPTED_TAGS
        return AuthorizationStatus.accepted if ok else AuthorizationStatus.invalid

    async def __aenter__(self) -> MinimalCsms:
        self._server = await serve(
            self._connected,
            "127.0.0.1",
            0,
            ssl=self.ssl_context,
            subprotocols=["ocpp1.6"],
            process_request=basic_auth(credentials=(self.cp_id, self.password)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        port = self._server.sockets[0].getsockname()[1]
        return f"wss://127.0.0.1:{port}/ocpp"

    async def _connected(self, ws: ServerConnection) -> None:
        cp_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        if cp_id != self.cp_id:
            await ws.close(1008, "unknown charge point")
            return
        station = _Station(cp_id, ws)
        station.csms = self
        self.station = station
        self.connections += 1
        self.changed.set()
        try:
            await station.start()
        except Exception:  # noqa: BLE001 - the connection closed: the station reconnects
            pass

    async def wait_for(self, action: str, within: float, since: int = 0, **subset: Any) -> dict:
        """The first request ``action`` after position ``since`` whose payload has ``subset``."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for name, payload in self.received[since:]:
                if name == action and all(payload.get(k) == v for k, v in subset.items()):
                    return payload
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                seen = [name for name, _ in self.received[since:]]
                raise AssertionError(f"no {action} {subset} within {within} s; saw {seen}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass
