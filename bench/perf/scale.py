"""A fleet at our Central System: N charge points over TLS + Basic auth, each sending
Heartbeat and MeterValues, then a CSMS restart and the reconnect storm.

The Central System runs in its own process (``python -m bench.perf.scale serve``), as
it would in production; the fleet is this process. Reported: how many got in, the
answer time of their messages (p50/p99/max), the CSMS's CPU and RSS, and how many were
Accepted again within the storm window after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.csms.chargepoints import hash_records
from bench.csms.handshake import HANDSHAKE_TIMEOUT_S
from bench.csms.server import CentralSystem
from bench.perf.agent import cpu_seconds
from bench.security.pki import ensure_pki, server_ssl_context
from charger.clock import Clock
from charger.protocol.tls import client_ssl_context
from charger.protocol.transport import connect_client

METER = {
    "connectorId": 1,
    "meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z", "sampledValue": [{"value": "1000"}]}],
}


async def _serve(state: Path, n: int, port: int) -> None:
    pki = ensure_pki(state / "pki")
    cs = CentralSystem(
        state / "csms",
        Clock.start(),
        port=port,
        ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
        pki_dir=pki.ca_cert.parent,
    )
    await cs.start()
    creds_file = state / "creds.json"
    if not creds_file.exists():
        records = hash_records([{"id": f"FLEET-{i:05d}"} for i in range(n)], 2)
        cs.store_records(records)
        creds_file.write_text(json.dumps({r.cp_id: r.generated for r in records}))
    (state / "url").write_text(cs.url(""))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await cs.stop()


class _Fleet:
    def __init__(self, base: str, ca: Path, creds: dict[str, str], interval: float) -> None:
        self.base, self.ca, self.creds, self.interval = base, ca, creds, interval
        self.latencies: list[float] = []
        self.connected: set[str] = set()
        self.accepted_at: dict[str, float] = {}
        self.tasks: list[asyncio.Task] = []
        self.ssl = client_ssl_context(ca)  # one for the fleet: loading the CA is not free
        self.failed_handshakes: dict[str, int] = {}  # by exception: refused, timed out...

    async def station(self, cp_id: str, password: str) -> None:
        seq = 0
        while True:
            try:
                ws = await connect_client(
                    self.base + cp_id,
                    cp_id,
                    password,
                    ssl_context=self.ssl,
                    open_timeout=HANDSHAKE_TIMEOUT_S,
                )
            except Exception as exc:  # noqa: BLE001 - a refused or dropped handshake: again
                kind = type(exc).__name__
                self.failed_handshakes[kind] = self.failed_handshakes.get(kind, 0) + 1
                await asyncio.sleep(1.0)
                continue
            try:
                self.connected.add(cp_id)
                await ws.send(
                    json.dumps(
                        [
                            2,
                            "b",
                            "BootNotification",
                            {"chargePointVendor": "V", "chargePointModel": "M"},
                        ]
                    )
                )
                answer = json.loads(await ws.recv())
                if answer[0] == 3 and answer[2].get("status") == "Accepted":
                    self.accepted_at[cp_id] = time.monotonic()
                await asyncio.sleep(self.interval * (hash(cp_id) % 100) / 100)  # spread
                while True:
                    for action, payload in (("Heartbeat", {}), ("MeterValues", METER)):
                        seq += 1
                        began = time.perf_counter()
                        await ws.send(json.dumps([2, f"m{seq}", action, payload]))
                        await ws.recv()
                        self.latencies.append(time.perf_counter() - began)
                    await asyncio.sleep(self.interval)
            except Exception:  # noqa: BLE001 - the CSMS went away: reconnect
                self.connected.discard(cp_id)
                with contextlib.suppress(Exception):
                    await ws.close()
                await asyncio.sleep(0.5)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.station(cp_id, pw)) for cp_id, pw in self.creds.items()
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _start_server(state: Path, n: int, port: int = 0) -> subprocess.Popen:
    """The CSMS in its own process (``port`` 0: any; a restart reuses the first one)."""
    (state / "url").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.perf.scale", "serve", str(state), str(n), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if (state / "url").exists():
            return proc
        await asyncio.sleep(0.1)
    proc.kill()
    raise RuntimeError("the CSMS did not start")


async def _sample_rss(pid: int, began: float, out: list[tuple[float, float]], every: float) -> None:
    while True:
        out.append((round(time.monotonic() - began, 1), round(_rss_mb(pid), 1)))
        await asyncio.sleep(every)


async def measure(
    n: int = 500, ramp_s: float = 20.0, interval: float = 5.0, steady_s: float | None = None
) -> dict[str, Any]:
    """``steady_s`` (default two intervals): how long the fleet runs after the ramp; RSS is
    sampled all along to show whether memory stays flat."""
    steady = 2 * interval if steady_s is None else steady_s
    rss_series: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-perf-scale-") as tmp:
        state = Path(tmp)
        server = await _start_server(state, n)
        try:
            creds = json.loads((state / "creds.json").read_text())
            base = (state / "url").read_text()
            fleet = _Fleet(base, state / "pki" / "ca.pem", creds, interval)
            cpu0, own0 = cpu_seconds(server.pid), time.process_time()
            began = time.monotonic()
            sampler = asyncio.create_task(
                _sample_rss(server.pid, began, rss_series, max(1.0, (ramp_s + steady) / 40))
            )
            fleet.start()
            await asyncio.sleep(ramp_s)
            in_after_ramp = len(fleet.accepted_at)
            fleet.latencies.clear()
            rss_after_ramp = _rss_mb(server.pid)
            await asyncio.sleep(steady)  # steady state
            lat = sorted(fleet.latencies)
            cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - began)
            # The fleet is one process: near 100 % it, not the CSMS, sets the latencies.
            fleet_cpu = (time.process_time() - own0) / (time.monotonic() - began)
            rss = _rss_mb(server.pid)
            sampler.cancel()
            # the storm: restart the CSMS, count who is Accepted again within 30 s
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            fleet.accepted_at.clear()
            restarted = time.monotonic()
            port = int(base.split(":")[2].split("/")[0])
            server = await _start_server(state, n, port)
            await asyncio.sleep(30.0)
            back = sum(1 for t in fleet.accepted_at.values() if t - restarted <= 30.0)
            await fleet.stop()
        finally:
            server.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(30)
            if server.poll() is None:
                server.kill()
    pct = (
        (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000)
        if lat
        else (lambda q: float("nan"))
    )
    return {
        "charge_points": n,
        "accepted_within_ramp": in_after_ramp,
        "messages": len(lat),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "csms_cpu_percent": cpu * 100,
        "fleet_cpu_percent": fleet_cpu * 100,
        "csms_rss_mb": rss,
        "csms_rss_after_ramp_mb": rss_after_ramp,
        "steady_s": steady,
        "csms_rss_growth_mb_per_min": (rss - rss_after_ramp) / (steady / 60),
        "csms_rss_mb_over_time": rss_series,
        "accepted_within_30s_of_restart": back,
        "failed_handshakes": fleet.failed_handshakes,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        asyncio.run(_serve(Path(argv[1]), int(argv[2]), int(argv[3])))
        return 0
    n = int(argv[0]) if argv else 200
    steady = float(argv[1]) if len(argv) > 1 else None
    print(json.dumps(asyncio.run(measure(n, steady_s=steady)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
