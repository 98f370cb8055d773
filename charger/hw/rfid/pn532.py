"""PN532 (NXP, 13.56 MHz) frames over HSU (the UART at 115200 8N1): pure codec, no I/O.

Normal information frame: ``00 00 FF LEN LCS TFI PD0..PDn DCS 00`` where LEN counts TFI
and the data, ``LEN + LCS = 0`` and ``TFI + sum(PD) + DCS = 0`` (mod 256); TFI is D4 from
the host and D5 from the PN532, whose command code is the host's plus one. The PN532
acknowledges each command with ``00 00 FF 00 FF 00`` before it answers; a syntax error
is the frame ``00 00 FF 01 FF 7F 81 00``. On HSU it sleeps until woken by a long
preamble (``55 55 00 00 ...``) followed by SAMConfiguration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

PREAMBLE = b"\x00\x00\xff"
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
ERROR_FRAME = b"\x00\x00\xff\x01\xff\x7f\x81\x00"
WAKEUP = b"\x55\x55" + b"\x00" * 14
HOST_TFI = 0xD4
PN532_TFI = 0xD5

GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A
BAUD_106_TYPE_A = 0x00


@dataclass(frozen=True)
class Frame:
    """One decoded unit from the line: an ACK, a NACK, an error frame or information."""

    kind: str  # "ack", "nack", "error", "info"
    tfi: int = 0
    data: bytes = b""

    @property
    def command(self) -> int:
        return self.data[0] if self.data else -1


def encode(tfi: int, data: bytes) -> bytes:
    """An information frame (``data[0]`` is the command code)."""
    body = bytes([tfi]) + data
    if not 1 <= len(body) <= 255:
        raise ValueError(f"PN532 frame body of {len(body)} bytes (1..255)")
    length = len(body)
    return PREAMBLE + bytes([length, (-length) & 0xFF]) + body + bytes([(-sum(body)) & 0xFF, 0x00])


def command(code: int, params: bytes = b"") -> bytes:
    """A host command frame."""
    return encode(HOST_TFI, bytes([code]) + params)


def response(code: int, params: bytes = b"") -> bytes:
    """The PN532's answer to command ``code``."""
    return encode(PN532_TFI, bytes([code + 1]) + params)


def uid_hex(uid: bytes) -> str:
    """The idTag form of a card's NFCID: upper-case hex (8 or 14 characters)."""
    return uid.hex().upper()


def parse_uid(text: str) -> bytes:
    raw = bytes.fromhex(text.strip())
    if len(raw) not in (4, 7, 10):
        raise ValueError(f"a type A NFCID is 4, 7 or 10 bytes, got {len(raw)}: {text!r}")
    return raw


def target_data(uid: bytes, sens_res: bytes = b"\x00\x04", sel_res: int = 0x08) -> bytes:
    """InListPassiveTarget's answer for one 106 kbps type A card (a MIFARE Classic 1K)."""
    return bytes([1, 1]) + sens_res + bytes([sel_res, len(uid)]) + uid


def parse_targets(data: bytes) -> list[bytes]:
    """The NFCIDs in an InListPassiveTarget answer (``data`` after the D5 4B code)."""
    if not data:
        raise ValueError("empty InListPassiveTarget answer")
    count, pos, uids = data[0], 1, []
    for _ in range(count):
        if len(data) < pos + 5:
            raise ValueError("target entry cut short")
        length = data[pos + 4]
        uid = data[pos + 5 : pos + 5 + length]
        if len(uid) != length:
            raise ValueError("NFCID cut short")
        uids.append(bytes(uid))
        pos += 5 + length  # Tg, SENS_RES(2), SEL_RES, NFCIDLength, NFCID (no ATS for 1K)
    return uids


class FrameParser:
    """Turns a byte stream into frames; skips wake-up bytes and noise, rejects bad sums."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0
        self.garbage_bytes = 0
        self.last_error: str | None = None

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self.last_error = reason
        log.warning("PN532: dropped frame (%s)", reason)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                keep = 2 if buf.endswith(b"\x00\x00") else 1 if buf.endswith(b"\x00") else 0
                self.garbage_bytes += sum(1 for b in buf[: len(buf) - keep] if b not in (0, 0x55))
                del buf[: len(buf) - keep]
                return out
            self.garbage_bytes += sum(1 for b in buf[:start] if b not in (0, 0x55))
            del buf[:start]
            if len(buf) < 6:
                return out
            length, lcs = buf[3], buf[4]
            if length == 0x00 and lcs == 0xFF:
                out.append(Frame("ack"))
                del buf[:6]
                continue
            if length == 0xFF and lcs == 0x00:
                out.append(Frame("nack"))
                del buf[:6]
                continue
            if (length + lcs) & 0xFF:
                self._reject(f"bad length checksum {length:02X}+{lcs:02X}")
                del buf[:3]
                continue
            total = 5 + length + 2
            if len(buf) < total:
                return out
            body = bytes(buf[5 : 5 + length])
            dcs = buf[5 + length]
            del buf[:total]
            if (sum(body) + dcs) & 0xFF:
                self._reject("bad data checksum")
                continue
            if body == b"\x7f":
                out.append(Frame("error"))
                continue
            out.append(Frame("info", body[0], body[1:]))
