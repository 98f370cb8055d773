"""PN532 twin: answers PN532 commands over HSU on a pseudo-terminal.

The driver opens ``device_path`` as it would open ``/dev/ttyAMA0``. The twin reads the
host's frames, acknowledges each with the ACK frame and answers GetFirmwareVersion,
SAMConfiguration, RFConfiguration and InListPassiveTarget (the card held to it, or
none) as the chip does; other commands get the syntax-error frame. It stays asleep,
ignoring commands, until woken with the HSU preamble (0x55 ...), like the chip.
"""

from __future__ import annotations

import os
import select
import threading

from bench.twins.pty import PtyPort
from charger.hw.rfid import pn532

FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])  # PN532, version 1.6, ISO 14443 A/B + 18092


class Pn532Twin:
    """A PN532 with a card that can be held to it or taken away."""

    def __init__(self) -> None:
        self._port = PtyPort("pn532 twin")
        self.device_path: str = self._port.device_path
        self._uid: bytes | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.awake = False
        self.silent = False  # True: hears nothing, answers nothing (a dead reader)
        self.commands: list[int] = []
        self._parser = pn532.FrameParser()
        self._thread = threading.Thread(target=self._run, name="pn532 twin", daemon=True)
        self._thread.start()

    def present(self, uid: str) -> None:
        """Hold a card with NFCID ``uid`` (8 or 14 hex characters) to the reader."""
        raw = pn532.parse_uid(uid)
        with self._lock:
            self._uid = raw

    def remove(self) -> None:
        with self._lock:
            self._uid = None

    def close(self) -> None:
        self._closed = True
        self._thread.join(1.0)
        self._port.close()

    def _write(self, data: bytes) -> None:
        self._port.write(data)

    def _answer(self, frame: pn532.Frame) -> None:
        if frame.kind != "info" or frame.tfi != pn532.HOST_TFI:
            return
        code, params = frame.command, frame.data[1:]
        self.commands.append(code)
        self._write(pn532.ACK)
        if code == pn532.GET_FIRMWARE_VERSION:
            self._write(pn532.response(code, FIRMWARE))
        elif code in (pn532.SAM_CONFIGURATION, pn532.RF_CONFIGURATION):
            self._write(pn532.response(code))
        elif code == pn532.IN_LIST_PASSIVE_TARGET and params[1:2] == bytes([0]):
            with self._lock:
                uid = self._uid
            body = pn532.target_data(uid) if uid is not None else b"\x00"
            self._write(pn532.response(code, body))
        else:
            self._write(pn532.ERROR_FRAME)

    def _run(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self._port.master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self._port.master, 256)
            except OSError:
                if self._closed:
                    return
                continue
            if self.silent:
                continue
            if not self.awake and b"\x55" in data:
                self.awake = True
            if not self.awake:
                continue
            for frame in self._parser.feed(data):
                self._answer(frame)
