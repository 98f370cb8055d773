"""RDM6300 reader over pyserial: turns repeated frames into present/removed events.

The RDM6300 only transmits, and keeps repeating the card's frame while the card is in
the field; nothing is sent when it leaves. So a card is "removed" after
``removal_silence_s`` without a frame for it. The port is reopened if it disappears
(USB reader unplugged, twin restarted) until :meth:`close`.

The port is opened for this reader alone (``exclusive``: an flock on the tty). A second
reader of the same line, such as an orphaned agent reopening its vanished pty whose
number the kernel has since given to a new one, would take frames from it: pyserial
then reports "readiness to read but returned no data" and a card's tap is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from charger.hw.health import HealthBoard
from charger.hw.interfaces import TagEvent
from charger.hw.rfid.rdm6300 import FrameDecoder

log = logging.getLogger(__name__)

REOPEN_DELAY_S = 0.5
PART = "rfid"
READ_TIMEOUT_S = 0.05


class Rdm6300Reader:
    """:class:`charger.hw.interfaces.RfidReader` for an RDM6300 on a serial port."""

    def __init__(
        self,
        device: str,
        baudrate: int = 9600,
        removal_silence_s: float = 0.3,
        health: HealthBoard | None = None,
    ) -> None:
        self.health = health or HealthBoard()
        self.device = device
        self.baudrate = baudrate
        self.removal_silence_s = removal_silence_s
        self.decoder = FrameDecoder()
        self._on_event: Callable[[TagEvent], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: serial.Serial | None = None
        self._current: str | None = None
        self._last_seen = 0.0

    def start(self, on_event: Callable[[TagEvent], None]) -> None:
        """Start the reading thread; ``on_event`` is called from it."""
        if self._thread is not None:
            raise RuntimeError("reader already started")
        self._on_event = on_event
        self._thread = threading.Thread(
            target=self._run, name=f"rdm6300 {self.device}", daemon=True
        )
        self._thread.start()

    @property
    def connected(self) -> bool:
        """True while the serial port is open (bytes written earlier were flushed)."""
        return self._port is not None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._close_port()

    # -- reading thread ---------------------------------------------------------

    def _open(self) -> bool:
        try:
            self._port = serial.Serial(
                self.device, self.baudrate, timeout=READ_TIMEOUT_S, exclusive=True
            )
        except (serial.SerialException, OSError) as exc:
            log.debug("RDM6300: cannot open %s: %s", self.device, exc)
            self.health.failed(PART, self.device, "serial", exc, error_code="ReaderFailure")
            self._port = None
            return False
        log.info("RDM6300: reading %s at %d baud", self.device, self.baudrate)
        self.health.ok(PART, self.device)
        return True

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._port is None and not self._open():
                self._check_silence()
                self._stop.wait(REOPEN_DELAY_S)
                continue
            try:
                assert self._port is not None
                data = self._port.read(64)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's read on a port closed under it by close().
                if not self._stop.is_set():
                    # Not reported yet: only a reopen that fails makes the reader "down".
                    log.warning("RDM6300: %s lost (%s); reopening", self.device, exc)
                self._close_port()
                continue
            if data:
                for uid in self.decoder.feed(data):
                    self._seen(uid)
            self._check_silence()

    def _seen(self, uid: str) -> None:
        self._last_seen = time.monotonic()
        if uid == self._current:
            return
        if self._current is not None:
            self._emit(TagEvent("removed", self._current))
        self._current = uid
        self._emit(TagEvent("present", uid))

    def _check_silence(self) -> None:
        if self._current is None:
            return
        if time.monotonic() - self._last_seen >= self.removal_silence_s:
            uid, self._current = self._current, None
            self._emit(TagEvent("removed", uid))

    def _emit(self, event: TagEvent) -> None:
        log.info("RDM6300: %s %s", event.kind, event.uid)
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a faulty consumer must not kill the reader
            log.exception("RDM6300: on_event callback failed for %s", event)
