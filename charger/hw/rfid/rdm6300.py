"""RDM6300 (125 kHz EM4100) serial frames: pure codec, no I/O.

A frame is 14 bytes: STX 0x02, 10 ASCII-hex characters (2 version + 8 card), 2 ASCII-hex
checksum (XOR of the 5 data bytes), ETX 0x03. The reader repeats the frame while a card
is in the field, so the stream decoder has to cope with frames cut by a late start,
line noise between frames and corrupted bytes.
"""

from __future__ import annotations

import logging
import string

log = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
FRAME_LEN = 14
_HEX = frozenset(string.hexdigits.encode())


def checksum(uid: str) -> int:
    """XOR of the 5 bytes the 10 hex characters stand for."""
    value = 0
    for byte in bytes.fromhex(uid):
        value ^= byte
    return value


def normalize_uid(uid: str) -> str:
    """The idTag form: 10 upper-case hex characters; raises ValueError otherwise."""
    uid = uid.strip().upper()
    if len(uid) != 10 or any(c not in string.hexdigits for c in uid):
        raise ValueError(f"RDM6300 uid must be 10 hex characters, got {uid!r}")
    return uid


def encode(uid: str) -> bytes:
    """The 14-byte frame the reader sends for card ``uid`` (10 hex characters)."""
    uid = normalize_uid(uid)
    return bytes([STX]) + uid.encode() + f"{checksum(uid):02X}".encode() + bytes([ETX])


class FrameDecoder:
    """Turns a byte stream into card uids; resynchronises on garbage, rejects bad frames.

    Counters let tests and diagnostics see what was thrown away; each rejection is
    logged with its reason, never raised.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames = 0
        self.rejected = 0
        self.garbage_bytes = 0
        self.last_error: str | None = None

    def _reject(self, reason: str, frame: bytes) -> None:
        self.rejected += 1
        self.last_error = reason
        log.warning("RDM6300: dropped frame (%s): %s", reason, frame.hex(" "))

    def feed(self, data: bytes) -> list[str]:
        """Add received bytes; return the uids of the complete valid frames among them."""
        self._buf += data
        uids: list[str] = []
        buf = self._buf
        while buf:
            start = buf.find(STX)
            if start < 0:
                self.garbage_bytes += len(buf)
                buf.clear()
                break
            if start:
                self.garbage_bytes += start
                del buf[:start]
            if len(buf) < FRAME_LEN:
                # A new STX inside a partial frame means the partial one was cut short.
                restart = buf.find(STX, 1)
                if restart > 0:
                    self._reject("truncated frame", bytes(buf[:restart]))
                    del buf[:restart]
                    continue
                break
            frame = bytes(buf[:FRAME_LEN])
            restart = frame.find(STX, 1)  # a valid frame never contains STX
            if restart > 0:
                self._reject("truncated frame", frame[:restart])
                del buf[:restart]
                continue
            if frame[FRAME_LEN - 1] != ETX:
                self._reject("missing ETX", frame)
                del buf[:1]  # the real frame may start inside this one
                continue
            body = frame[1:13]
            if any(b not in _HEX for b in body):
                self._reject("non-hex character", frame)
                del buf[:1]
                continue
            uid = body[:10].decode().upper()
            expected = checksum(uid)
            got = int(body[10:12], 16)
            del buf[:FRAME_LEN]
            if got != expected:
                self._reject(f"bad checksum {got:02X}, expected {expected:02X}", frame)
                continue
            self.frames += 1
            uids.append(uid)
        return uids
