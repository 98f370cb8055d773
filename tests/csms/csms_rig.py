"""A running CSMS (plain ws) with the bench's simulated charge point connected to it."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from typing import Any

from ocpp.v16 import call
from websockets.exceptions import InvalidStatus

from bench.csms.server import CentralSystem
from bench.scenarios.csms_role import SimChargePoint
from charger.clock import Clock
from charger.protocol.transport import connect_client

CP = "CP-API-1"
PASSWORD = "api-password-0123456789"
OTHER = "CP-API-2"
#: The running CSMS's API token: ``http`` sends it unless given another (or "").
TOKEN: dict[str, str | None] = {"value": None}


@asynccontextmanager
async def running(tmp_path, *, connect: bool = True, speed: float = 1.0, **options: Any):
    options.setdefault("api_port", 0)
    cs = CentralSystem(tmp_path / "csms", Clock.start(speed), **options)
    await cs.start()
    TOKEN["value"] = cs.api_token
    cs.register_charge_point(CP, PASSWORD)
    cs.register_charge_point(OTHER, PASSWORD)
    cs.add_id_tag("PARENT-1")
    cs.add_id_tag("TAG-1", parent="PARENT-1")
    cs.add_id_tag("TAG-2", "Blocked")
    frames: list[tuple] = []
    cp = SimChargePoint(CP, cs.url(CP), PASSWORD, cs.clock, lambda *f: frames.append(f))
    cp.frames = frames  # type: ignore[attr-defined]
    try:
        if connect:
            await cp.connect()
            await cp.request(cp.boot_payload())
            await cs.wait_connected(CP, 5)
        yield cs, cp
    finally:
        await cp.close()
        await cs.stop()


def http(
    method: str, url: str, body: Any = None, token: str | None = None, raw: bytes | None = None
) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    token = TOKEN["value"] if token is None else token
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def ahttp(*args: Any, **kwargs: Any) -> tuple[int, Any]:
    return await asyncio.to_thread(http, *args, **kwargs)


async def send(cp: SimChargePoint, payload: Any) -> dict[str, Any]:
    return await asyncio.wait_for(cp.request(payload), 5)


def firmware_status(status: str) -> Any:
    return call.FirmwareStatusNotification(status=status)


async def status_of(connecting: Any) -> int:
    """The HTTP status a WebSocket handshake got: 101 (then closed again), 401, 404..."""
    try:
        connection = await connecting
    except InvalidStatus as exc:
        return exc.response.status_code
    await connection.close()
    return 101


async def handshake(cs: CentralSystem, cp_id: str, password: str | None) -> int:
    """The status of one Basic-auth handshake of ``cp_id`` at ``cs``."""
    return await status_of(connect_client(cs.url(cp_id), cp_id, password))
