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
import time

import serial

from charger.hw.health import HealthBoard
from charger.hw.rfid.rdm6300 import FrameDecoder
from charger.hw.rfid.reader import SerialTagReader

log = logging.getLogger(__name__)

REOPEN_DELAY_S = 0.5
PART = "rfid"
READ_TIMEOUT_S = 0.05


class Rdm6300Reader(SerialTagReader):
    """:class:`charger.hw.interfaces.RfidReader` for an RDM6300 on a serial port."""

    MODEL = "RDM6300"

    def __init__(
        self,
        device: str,
        baudrate: int = 9600,
        removal_silence_s: float = 0.3,
        health: HealthBoard | None = None,
    ) -> None:
        super().__init__(device)
        self.health = health or HealthBoard()
        self.baudrate = baudrate
        self.removal_silence_s = removal_silence_s
        self.decoder = FrameDecoder()
        self._port: serial.Serial | None = None
        self._last_seen = 0.0

    @property
    def connected(self) -> bool:
        """True while the serial port is open (bytes written earlier were flushed)."""
        return self._port is not None

    def close(self) -> None:
        super().close()
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
        self._card(uid)

    def _check_silence(self) -> None:
        """The RDM6300 says nothing when a card leaves: silence is its removal."""
        if self._current is None:
            return
        if time.monotonic() - self._last_seen >= self.removal_silence_s:
            self._card(None)
