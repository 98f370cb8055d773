"""How fast the registry and the handshake are: ``python -m bench.csms.perf [N]``.

Measures, against a CSMS with TLS on 127.0.0.1 (profile 2, as ``bench up``):

* registering N charge points from CSV (generated passwords, the HTTP API's path:
  hash in the caller's thread, one transaction);
* their first connections (handshake incl. TLS and Basic auth), 50 at a time;
* reconnections of the same charge points (verified credentials are cached);
* a charge point with a scrypt password (chosen by a person): first and cached check;
* one valid handshake while 16 guessers hammer the same account.

Speed is reported here, never asserted in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import InvalidStatus

from bench.csms.chargepoints import hash_records
from bench.csms.server import CentralSystem
from bench.security.pki import ensure_pki, server_ssl_context
from charger.clock import Clock
from charger.protocol.transport import connect_client

CONCURRENCY = 50


async def _connect(cs: CentralSystem, ca: Path, cp_id: str, password: str) -> float:
    began = time.perf_counter()
    try:
        connection = await connect_client(cs.url(cp_id), cp_id, password, ca)
    except InvalidStatus:
        return float("nan")
    elapsed = time.perf_counter() - began
    await connection.close()
    return elapsed


async def _batch(cs: CentralSystem, ca: Path, creds: dict[str, str]) -> tuple[float, list[float]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(cp_id: str, password: str) -> float:
        async with limit:
            return await _connect(cs, ca, cp_id, password)

    began = time.perf_counter()
    times = await asyncio.gather(*(one(c, p) for c, p in creds.items()))
    return time.perf_counter() - began, times


async def measure(n: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        pki = ensure_pki(Path(tmp) / "pki")
        cs = CentralSystem(
            Path(tmp) / "csms",
            Clock.start(),
            ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
            pki_dir=pki.ca_cert.parent,
        )
        await cs.start()
        try:
            out: dict[str, Any] = {"charge_points": n}
            began = time.perf_counter()
            records = await asyncio.to_thread(
                hash_records, [{"id": f"PERF-{i:05d}"} for i in range(n)], 2
            )
            cs.store_records(records)
            out["register_s"] = time.perf_counter() - began
            creds = {r.cp_id: str(r.generated) for r in records}

            total, times = await _batch(cs, pki.ca_cert, creds)
            out["first_connect_all_s"] = total
            out["first_connect_median_ms"] = statistics.median(times) * 1000
            total, times = await _batch(cs, pki.ca_cert, creds)
            out["reconnect_all_s"] = total
            out["reconnect_median_ms"] = statistics.median(times) * 1000

            human = "a-password-a-person-chose"
            cs.add_charge_point("PERF-HUMAN", 2, human)
            out["scrypt_first_ms"] = await _connect(cs, pki.ca_cert, "PERF-HUMAN", human) * 1000
            out["scrypt_cached_ms"] = await _connect(cs, pki.ca_cert, "PERF-HUMAN", human) * 1000

            stop = asyncio.Event()

            async def guesser(k: int) -> None:
                while not stop.is_set():
                    with contextlib.suppress(Exception):
                        await _connect(cs, pki.ca_cert, "PERF-HUMAN", f"wrong-guess-{k:020d}")

            guessers = [asyncio.create_task(guesser(k)) for k in range(16)]
            await asyncio.sleep(1.0)
            valid = [await _connect(cs, pki.ca_cert, "PERF-HUMAN", human) for _ in range(5)]
            stop.set()
            for task in guessers:
                task.cancel()
            await asyncio.gather(*guessers, return_exceptions=True)
            out["valid_under_16_guessers_ms"] = statistics.median(valid) * 1000
            out["scrypt_checks"] = cs.credentials.slow_checks
            return out
        finally:
            await cs.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 1000
    result = asyncio.run(measure(n))
    for key, value in result.items():
        print(f"{key:30} {value:.3f}" if isinstance(value, float) else f"{key:30} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
