"""CALL -> CALLRESULT round trip: the plain-``websockets`` floor, the stock ``ocpp``
package's server, and our Central System, over the same TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import ocpp.messages
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

from bench.csms.server import CentralSystem
from bench.security.pki import ensure_pki, server_ssl_context
from charger.clock import Clock
from charger.protocol.tls import client_ssl_context
from charger.protocol.transport import OCPP16, connect_client

HEARTBEAT = json.dumps([2, "{uid}", "Heartbeat", {}])
BOOT = [2, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]


class _StockCsms(ChargePoint):
    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time="2026-01-01T00:00:00.000Z")


async def _serve_echo(ws: Any) -> None:
    async for message in ws:
        frame = json.loads(message)
        await ws.send(json.dumps([3, frame[1], {"currentTime": "2026-01-01T00:00:00.000Z"}]))


async def _serve_stock(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        await _StockCsms("CP", ws).start()


async def _rounds(ws: Any, n: int) -> list[float]:
    out = []
    for i in range(n):
        began = time.perf_counter()
        await ws.send(HEARTBEAT.replace("{uid}", f"u{i}"))
        await ws.recv()
        out.append(time.perf_counter() - began)
    return out


async def measure(rounds: int = 200, batches: int = 5) -> dict[str, Any]:
    """Median round trip (ms) of each, in ``batches`` interleaved batches of ``rounds``."""
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        pki = ensure_pki(Path(tmp) / "pki")
        server_ctx = server_ssl_context(pki.server_cert, pki.server_key)
        client_ctx = client_ssl_context(pki.ca_cert)
        echo = await websockets.serve(
            _serve_echo, "127.0.0.1", 0, ssl=server_ctx, subprotocols=[OCPP16]
        )
        stock = await websockets.serve(
            _serve_stock, "127.0.0.1", 0, ssl=server_ctx, subprotocols=[OCPP16]
        )
        cs = CentralSystem(
            Path(tmp) / "csms", Clock.start(), ssl_context=server_ctx, pki_dir=pki.ca_cert.parent
        )
        await cs.start()
        password = "perf-password-0123456789"
        cs.add_charge_point("PERF-CP", 2, password)
        try:
            ports = {
                "websockets": echo.sockets[0].getsockname()[1],
                "ocpp": stock.sockets[0].getsockname()[1],
            }
            clients = {
                name: await websockets.connect(
                    f"wss://127.0.0.1:{port}/CP", ssl=client_ctx, subprotocols=[OCPP16]
                )
                for name, port in ports.items()
            }
            ours = await connect_client(cs.url("PERF-CP"), "PERF-CP", password, pki.ca_cert)
            await ours.send(json.dumps(BOOT))
            await ours.recv()
            clients["bench CSMS"] = ours
            samples: dict[str, list[float]] = {name: [] for name in clients}
            for ws in clients.values():  # warm-up
                await _rounds(ws, 10)
            ours_inline = ocpp.messages.ASYNC_VALIDATION  # the CSMS's choice (session.py)
            try:
                for _ in range(batches):
                    for name, ws in clients.items():
                        # Stock ocpp as shipped: validation in the thread pool. The switch
                        # is per process, so each batch gets its own server's setting.
                        ocpp.messages.ASYNC_VALIDATION = True if name == "ocpp" else ours_inline
                        samples[name] += await _rounds(ws, rounds)
            finally:
                ocpp.messages.ASYNC_VALIDATION = ours_inline
            for ws in clients.values():
                await ws.close()
        finally:
            await cs.stop()
            echo.close()
            stock.close()
    p50 = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    floor = p50["websockets"]
    return {
        "rounds": rounds * batches,
        "p50_ms": p50,
        "ratio_to_floor": {name: value / floor for name, value in p50.items()},
        "ours_to_stock_ocpp": p50["bench CSMS"] / p50["ocpp"],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure()), indent=2))
