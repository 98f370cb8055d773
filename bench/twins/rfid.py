"""RDM6300 twin: writes real RDM6300 frames into a pseudo-terminal.

The driver opens ``device_path`` exactly as it would open ``/dev/ttyS0`` on the rig, so
the agent process and the bench process only share the pty.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import tty

from charger.hw.rfid.rdm6300 import encode, normalize_uid

log = logging.getLogger(__name__)


class RfidTwin:
    """A card reader with a card that can be held to it, taken away or garbled."""

    def __init__(self, repeat_s: float = 0.1) -> None:
        self.repeat_s = repeat_s
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass untouched
        os.set_blocking(self._master, False)  # nobody reading must not block the twin
        self.device_path: str = os.ttyname(self._slave)
        self._uid: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.frames_sent = 0
        self._thread = threading.Thread(target=self._run, name="rfid twin", daemon=True)
        self._thread.start()

    def present(self, uid: str) -> None:
        """Hold card ``uid`` to the reader: frames repeat every ``repeat_s`` until removed."""
        with self._lock:
            self._uid = normalize_uid(uid)
        self._wake.set()

    def remove(self) -> None:
        with self._lock:
            self._uid = None

    def inject(self, raw: bytes) -> None:
        """Write raw bytes (broken frames, noise) onto the line."""
        self._write(raw)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(1.0)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except BlockingIOError:
            log.debug("rfid twin: pty buffer full, %d bytes dropped", len(data))
        except OSError as exc:
            if exc.errno not in (errno.EIO, errno.EBADF) or not self._closed:
                log.warning("rfid twin: write failed: %s", exc)

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                uid = self._uid
            if uid is not None:
                self._write(encode(uid))
                self.frames_sent += 1
            self._wake.wait(self.repeat_s)
            self._wake.clear()
