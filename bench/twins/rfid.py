"""RDM6300 twin: writes real RDM6300 frames into a pseudo-terminal (:mod:`.pty`)."""

from __future__ import annotations

import threading

from bench.twins.pty import PtyPort
from charger.hw.rfid.rdm6300 import encode, normalize_uid


class RfidTwin:
    """A card reader with a card that can be held to it, taken away or garbled."""

    def __init__(self, repeat_s: float = 0.1) -> None:
        self.repeat_s = repeat_s
        self._port = PtyPort("rfid twin")
        self.device_path: str = self._port.device_path
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
        self._port.write(raw)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(1.0)
        self._port.close()

    def _run(self) -> None:
        while not self._closed:
            with self._lock:
                uid = self._uid
            if uid is not None:
                self._port.write(encode(uid))
                self.frames_sent += 1
            self._wake.wait(self.repeat_s)
            self._wake.clear()
