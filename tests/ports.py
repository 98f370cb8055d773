"""Ports for tests that must name them (``--port``, ``--port-base``), not bind port 0.

Each pytest-xdist worker takes blocks from its own band below Linux's ephemeral range
(32768 and up), where neither the other workers nor any port-0 listener or outgoing
connection of the machine lands, so a block found free stays free for the test.
"""

from __future__ import annotations

import os
import socket

FIRST = 20000
BAND = 1500  # ports per worker: up to 8 workers stay below 32000
_cursor = [0]  # where this worker's next block starts, from its band's first port


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) % 8 if name.startswith("gw") and name[2:].isdigit() else 0


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(span: int = 1) -> int:
    """A base with ``span`` free ports above it, in this worker's band; each call moves on."""
    low = FIRST + _worker() * BAND
    for step in range(BAND):
        base = low + (_cursor[0] + step) % (BAND - span + 1)
        if all(_free(p) for p in range(base, base + span)):
            _cursor[0] = (base - low + span) % BAND
            return base
    raise RuntimeError(f"no {span} free ports in {low}..{low + BAND - 1}")


def free_port() -> int:
    return free_block(1)


def listening() -> socket.socket:
    """A socket listening on a port of this worker's band (a port someone else holds)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen()
    return sock
