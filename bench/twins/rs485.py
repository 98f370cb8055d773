"""A simulated RS-485 pair: two pseudo-terminals joined like a null modem.

The meters' side (a pymodbus RTU server holding every meter on the line) opens
``meters_path``; the agent opens ``device_path`` as it opens ``/dev/bench-rs485`` on the
rig. Bytes written at one end come out at the other, so the RTU framing, the unit ids
and the request/answer turn-taking of a half-duplex line are exercised for real.
"""

from __future__ import annotations

import os
import select
import threading
import tty


class Rs485Line:
    """Two pty ends and a thread carrying bytes between them."""

    def __init__(self) -> None:
        self._ends = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            tty.setraw(master)
            self._ends.append((master, slave, os.ttyname(slave)))
        self.device_path: str = self._ends[0][2]  # the agent's end
        self.meters_path: str = self._ends[1][2]  # the meters' end
        self.bytes_carried = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="rs485 line", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        a, b = self._ends[0][0], self._ends[1][0]
        peer = {a: b, b: a}
        while not self._closed:
            try:
                ready, _, _ = select.select([a, b], [], [], 0.05)
                for fd in ready:
                    data = os.read(fd, 4096)
                    os.write(peer[fd], data)
                    self.bytes_carried += len(data)
            except OSError:
                if self._closed:
                    return

    def close(self) -> None:
        self._closed = True
        self._thread.join(1.0)
        for master, slave, _ in self._ends:
            for fd in (master, slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
