"""The "wire": a small memory-mapped file standing in for the CP/PP cables.

The agent process (PWM pin, ADC) and the bench process (the EV's resistor network)
share it. Fixed layout, little-endian, ``HEADER`` then ``MAX_SLOTS`` slots of ``SLOT``:

======  ====  ==========  ======  =============================================
offset  size  field       writer  meaning
======  ====  ==========  ======  =============================================
0       4     magic       both    ``b"BWIR"``
4       2     version     both    1
6       2     slots       both    ``MAX_SLOTS`` (8)
8+20k   1     ev_state    bench   0 unplugged, 1 B, 2 C, 3 D, 4 diode_fault, 5 E
+1      3     reserved
+4      4     pp_ohms     bench   f32 PP-PE resistance, +inf = open (not plugged)
+8      4     evse_duty   agent   f32 PWM pin level: 1.0 steady +12 V, 0.0 steady
                                  -12 V, between: 1 kHz PWM duty
+12     4     duty_seq    agent   u32, incremented on each duty write
+16     4     ev_seq      bench   u32, incremented on each EV change
======  ====  ==========  ======  =============================================

Slot ``k`` is connector ``k+1`` by convention (``PilotConfig.slot``). Fields are
aligned 4-byte words written with single stores, so readers never see torn values.
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
import struct
from pathlib import Path

from charger.hw.interfaces import HardwareError
from charger.hw.pilot.circuit import EV_STATES, EvState

MAGIC = b"BWIR"
VERSION = 1
MAX_SLOTS = 8
HEADER = struct.Struct("<4sHH")
SLOT = struct.Struct("<B3xffII")
SIZE = HEADER.size + MAX_SLOTS * SLOT.size
_STATE_CODE = {s: i for i, s in enumerate(EV_STATES)}
_OFF_STATE, _OFF_PP, _OFF_DUTY, _OFF_DSEQ, _OFF_ESEQ = 0, 4, 8, 12, 16


class Wire:
    """Open (creating and initialising if needed) the shared wire file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # both processes may race to create it
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            self._mm = mmap.mmap(fd, SIZE)
            magic, version, slots = HEADER.unpack_from(self._mm, 0)
            if magic == b"\0\0\0\0":
                self._init()
            elif magic != MAGIC or version != VERSION or slots != MAX_SLOTS:
                self._mm.close()
                raise HardwareError(f"{self.path}: not a version {VERSION} wire file")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)  # the mapping stays valid

    def _init(self) -> None:
        for k in range(MAX_SLOTS):
            SLOT.pack_into(self._mm, self._off(k), 0, math.inf, 1.0, 0, 0)
        HEADER.pack_into(self._mm, 0, MAGIC, VERSION, MAX_SLOTS)

    @staticmethod
    def _off(slot: int) -> int:
        if not 0 <= slot < MAX_SLOTS:
            raise ValueError(f"wire slot {slot} outside 0..{MAX_SLOTS - 1}")
        return HEADER.size + slot * SLOT.size

    # -- EV side (bench) ----------------------------------------------------------------

    def set_ev(self, slot: int, state: EvState, pp_ohms: float | None) -> None:
        if state not in _STATE_CODE:
            raise ValueError(f"unknown EV state {state!r}; one of {EV_STATES}")
        off = self._off(slot)
        ohms = math.inf if pp_ohms is None else float(pp_ohms)
        struct.pack_into("<f", self._mm, off + _OFF_PP, ohms)
        struct.pack_into("<B", self._mm, off + _OFF_STATE, _STATE_CODE[state])
        seq = struct.unpack_from("<I", self._mm, off + _OFF_ESEQ)[0]
        struct.pack_into("<I", self._mm, off + _OFF_ESEQ, (seq + 1) & 0xFFFFFFFF)

    def ev(self, slot: int) -> tuple[EvState, float]:
        """(state, pp_ohms) as the bench last set them; unknown codes read as unplugged."""
        off = self._off(slot)
        code = self._mm[off + _OFF_STATE]
        pp = struct.unpack_from("<f", self._mm, off + _OFF_PP)[0]
        state = EV_STATES[code] if code < len(EV_STATES) else "unplugged"
        return state, pp

    # -- EVSE side (agent) ----------------------------------------------------------------

    def set_duty(self, slot: int, level: float) -> None:
        off = self._off(slot)
        struct.pack_into("<f", self._mm, off + _OFF_DUTY, float(level))
        seq = struct.unpack_from("<I", self._mm, off + _OFF_DSEQ)[0]
        struct.pack_into("<I", self._mm, off + _OFF_DSEQ, (seq + 1) & 0xFFFFFFFF)

    def duty(self, slot: int) -> float:
        """The PWM pin level: 1.0 steady +12 V, 0.0 steady -12 V, else the duty cycle."""
        level = struct.unpack_from("<f", self._mm, self._off(slot) + _OFF_DUTY)[0]
        return round(level, 6)  # f32 storage: 0.05 comes back as 0.0500000007

    def duty_seq(self, slot: int) -> int:
        return struct.unpack_from("<I", self._mm, self._off(slot) + _OFF_DSEQ)[0]

    def close(self) -> None:
        if not self._mm.closed:
            self._mm.close()
