"""PN532 reader over HSU (pyserial): polls for type A cards, turns them into tag events.

Unlike the RDM6300 the PN532 only speaks when asked: the reader wakes it, configures
the SAM (normal mode), limits InListPassiveTarget's retries so an empty field answers
"0 targets" instead of waiting forever, reads the firmware version (proof that it is a
PN532 at the right baud rate) and then polls every ``poll_s``. A card is "removed" when
a poll finds none. The port is reopened, and the chip configured again, after any
failure, until :meth:`close`.
"""

from __future__ import annotations

import logging
import time

import serial

from charger.hw.health import HealthBoard
from charger.hw.interfaces import HardwareError
from charger.hw.rfid import pn532
from charger.hw.rfid.reader import SerialTagReader

log = logging.getLogger(__name__)

PART = "rfid"
REOPEN_DELAY_S = 1.0
ANSWER_TIMEOUT_S = 1.0  # the chip answers in milliseconds; this is for busy hosts
PASSIVE_ACTIVATION_RETRIES = 0x02  # MxRtyPassiveActivation: give up quickly on no card


class Pn532Link:
    """Command/answer exchanges with a PN532 on an open serial port."""

    def __init__(self, port: serial.Serial) -> None:
        self.port = port
        self.parser = pn532.FrameParser()
        self._pending: list[pn532.Frame] = []

    def _next(self, deadline: float) -> pn532.Frame:
        while not self._pending:
            if time.monotonic() > deadline:
                raise HardwareError("PN532 did not answer")
            data = self.port.read(64)
            if data:
                self._pending += self.parser.feed(data)
        return self._pending.pop(0)

    def exchange(
        self, code: int, params: bytes = b"", timeout_s: float = ANSWER_TIMEOUT_S
    ) -> bytes:
        """Send command ``code``, wait for its ACK and answer; returns the answer's data."""
        self.port.reset_input_buffer()
        self.parser = pn532.FrameParser()
        self._pending.clear()
        self.port.write(pn532.command(code, params))
        deadline = time.monotonic() + timeout_s
        frame = self._next(deadline)
        if frame.kind != "ack":
            raise HardwareError(f"PN532: expected an ACK to {code:#04x}, got {frame.kind}")
        frame = self._next(deadline)
        if frame.kind == "error":
            raise HardwareError(f"PN532 refused command {code:#04x} (syntax error frame)")
        if frame.kind != "info" or frame.tfi != pn532.PN532_TFI or frame.command != code + 1:
            raise HardwareError(f"PN532: unexpected answer to {code:#04x}: {frame}")
        return frame.data[1:]

    def wake(self) -> str:
        """Wake the chip, configure it; returns its firmware version as text."""
        self.port.write(pn532.WAKEUP)
        self.exchange(pn532.SAM_CONFIGURATION, bytes([0x01, 0x14, 0x01]))
        self.exchange(pn532.RF_CONFIGURATION, bytes([0x05, 0xFF, 0x01, PASSIVE_ACTIVATION_RETRIES]))
        ic, ver, rev, _support = self.exchange(pn532.GET_FIRMWARE_VERSION)[:4]
        if ic != 0x32:
            raise HardwareError(f"not a PN532 (IC {ic:#04x})")
        return f"PN5{ic:02X} firmware {ver}.{rev}"

    def poll(self) -> list[bytes]:
        """The NFCIDs of the type A cards in the field (at most one)."""
        data = self.exchange(pn532.IN_LIST_PASSIVE_TARGET, bytes([1, pn532.BAUD_106_TYPE_A]))
        try:
            return pn532.parse_targets(data)
        except ValueError as exc:
            raise HardwareError(f"PN532: bad InListPassiveTarget answer: {exc}") from exc


def probe(device: str, baudrate: int = 115200) -> str:
    """Open, wake, poll once: what a self-test reports (raises on failure)."""
    with serial.Serial(device, baudrate, timeout=0.02) as port:
        link = Pn532Link(port)
        version = link.wake()
        uids = link.poll()
    seen = f"card {pn532.uid_hex(uids[0])}" if uids else "no card in the field"
    return f"{version} at {baudrate} baud; {seen}"


class Pn532Reader(SerialTagReader):
    """:class:`charger.hw.interfaces.RfidReader` for a PN532 on a serial port (HSU)."""

    MODEL = "PN532"

    def __init__(
        self,
        device: str,
        baudrate: int = 115200,
        poll_s: float = 0.1,
        health: HealthBoard | None = None,
    ) -> None:
        super().__init__(device)
        self.baudrate = baudrate
        self.poll_s = poll_s
        self.health = health or HealthBoard()
        self.firmware: str | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # exclusive: a second reader of the line would take its answers (see driver.py)
                with serial.Serial(
                    self.device, self.baudrate, timeout=0.02, exclusive=True
                ) as port:
                    link = Pn532Link(port)
                    self.firmware = link.wake()
                    log.info("PN532: %s on %s", self.firmware, self.device)
                    self.health.ok(PART, self.device)
                    while not self._stop.is_set():
                        self._seen([pn532.uid_hex(u) for u in link.poll()])
                        self._stop.wait(self.poll_s)
            except (serial.SerialException, OSError, HardwareError) as exc:
                if self._stop.is_set():
                    break
                log.debug("PN532: %s: %s", self.device, exc)
                self.health.failed(PART, self.device, "serial", exc, error_code="ReaderFailure")
                self._seen([])
                self._stop.wait(REOPEN_DELAY_S)

    def _seen(self, uids: list[str]) -> None:
        self._card(uids[0] if uids else None)
