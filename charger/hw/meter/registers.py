"""Meter models as data: where each quantity lives and how it is scaled.

A model is a :class:`RegisterMap`; the driver reads one block (``start``, ``count``) with
the map's function code and decodes it with :func:`decode`; the twin fills the same
block with :func:`encode`. Adding a meter means adding a map here, not code.

Scaling of one quantity: ``value = raw * scale * 10 ** (dp + dp_offset)`` where ``dp`` is
the content of ``dp_address`` (0 when the quantity has no decimal-point register), and
``value`` is in the interface's units (V, A, W, Wh).

Acrel DJSF1352-RN energy: the facts give the registers (12/13 import, 14/15 export,
high word first) but not the unit. We follow the Acrel x1352 family convention of
UINT32 counts of 0.01 kWh (10 Wh per count, 42.9 GWh range), i.e. ``scale=10`` Wh,
with no decimal-point register. Confirm on the rig's unit and change ``scale`` if not.
Voltage/current are V/A; power is kW (``scale=1000`` to W); all with a dp register.
Because that unit is an assumption, it is a per-meter setting of the rig file
(``energy_wh_per_count``, see wiring/meters.md), applied with :func:`with_energy_unit`.

Eastron SDM630 (three-phase, float32 input registers): the map also lists L1/L2/L3
voltage, current and power (``phases``); the reading's ``voltage_v``/``current_a``
are L1's and ``power_w`` the total.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from typing import Any, Literal

DType = Literal["u16", "s16", "u32", "s32", "f32"]
_WORDS = {"u16": 1, "s16": 1, "u32": 2, "s32": 2, "f32": 2}
_FMT = {"u16": ">H", "s16": ">h", "u32": ">I", "s32": ">i", "f32": ">f"}
_INT_RANGE = {
    "u16": (0, 0xFFFF),
    "s16": (-0x8000, 0x7FFF),
    "u32": (0, 0xFFFFFFFF),
    "s32": (-0x80000000, 0x7FFFFFFF),
}


@dataclass(frozen=True)
class Quantity:
    """One measured value in the register block."""

    address: int
    dtype: DType
    scale: float = 1.0
    dp_address: int | None = None  # register holding this value's decimal point
    dp_offset: int = -3  # Acrel: value = raw * 10 ** (dp - 3)
    dp_choices: tuple[int, ...] = (0, 1, 2, 3)  # what the twin may put in the dp register
    counter: bool = False  # energy counters truncate (count up on each full step)

    @property
    def words(self) -> int:
        return _WORDS[self.dtype]


@dataclass(frozen=True)
class RegisterMap:
    model: str
    function_code: Literal[3, 4]  # 3 holding registers, 4 input registers
    start: int
    count: int
    word_order: Literal["big", "little"]  # order of the 16-bit words in 32-bit values
    voltage: Quantity
    current: Quantity
    power: Quantity
    energy_import: Quantity
    energy_export: Quantity
    # Per phase (L1, L2, L3): (voltage, current, power); empty for DC and 1-phase meters.
    phases: tuple[tuple[Quantity, Quantity, Quantity], ...] = ()

    def quantities(self) -> dict[str, Quantity]:
        return {
            "voltage_v": self.voltage,
            "current_a": self.current,
            "power_w": self.power,
            "energy_import_wh": self.energy_import,
            "energy_export_wh": self.energy_export,
        }

    def last_register(self) -> int:
        return self.start + self.count - 1


ACREL_DJSF1352_RN = RegisterMap(
    model="acrel-djsf1352-rn",
    function_code=3,
    start=0x0000,
    count=20,
    word_order="big",
    voltage=Quantity(0, "u16", dp_address=1),
    current=Quantity(2, "s16", dp_address=3),
    power=Quantity(8, "s16", scale=1000.0, dp_address=9),
    energy_import=Quantity(12, "u32", scale=10.0, counter=True),
    energy_export=Quantity(14, "u32", scale=10.0, counter=True),
)


def _sdm_phase(n: int) -> tuple[Quantity, Quantity, Quantity]:
    return (
        Quantity(0x0000 + 2 * n, "f32"),
        Quantity(0x0006 + 2 * n, "f32"),
        Quantity(0x000C + 2 * n, "f32"),
    )


# AC three-phase (on the charger's mains side): L1 voltage/current, total power, and
# every phase in ``phases``.
EASTRON_SDM630 = RegisterMap(
    model="eastron-sdm630",
    function_code=4,
    start=0x0000,
    count=0x004C,
    word_order="big",
    voltage=Quantity(0x0000, "f32"),
    current=Quantity(0x0006, "f32"),
    power=Quantity(0x0034, "f32"),
    energy_import=Quantity(0x0048, "f32", scale=1000.0),
    energy_export=Quantity(0x004A, "f32", scale=1000.0),
    phases=(_sdm_phase(0), _sdm_phase(1), _sdm_phase(2)),
)

MODELS: dict[str, RegisterMap] = {m.model: m for m in (ACREL_DJSF1352_RN, EASTRON_SDM630)}


def register_map(model: str) -> RegisterMap:
    try:
        return MODELS[model]
    except KeyError:
        raise ValueError(f"unknown meter model {model!r}; known: {sorted(MODELS)}") from None


def with_energy_unit(m: RegisterMap, wh_per_count: float | None) -> RegisterMap:
    """``m`` with its integer energy registers counting ``wh_per_count`` Wh (None: as is)."""
    if wh_per_count is None:
        return m
    if m.energy_import.dtype == "f32":
        raise ValueError(f"{m.model}: energy is a float in kWh; energy_wh_per_count does not apply")
    return replace(
        m,
        energy_import=replace(m.energy_import, scale=wh_per_count),
        energy_export=replace(m.energy_export, scale=wh_per_count),
    )


def _words_to_bytes(words: list[int], word_order: str) -> bytes:
    if word_order == "little":
        words = list(reversed(words))
    return b"".join(w.to_bytes(2, "big") for w in words)


def _bytes_to_words(data: bytes, word_order: str) -> list[int]:
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return list(reversed(words)) if word_order == "little" else words


def decode_quantity(m: RegisterMap, q: Quantity, regs: list[int]) -> float:
    """The value of ``q`` from the register block ``regs`` (``regs[0]`` is ``m.start``)."""
    off = q.address - m.start
    raw_words = regs[off : off + q.words]
    if len(raw_words) != q.words:
        raise ValueError(f"{m.model}: register {q.address:#06x} outside the block read")
    (raw,) = struct.unpack(_FMT[q.dtype], _words_to_bytes(raw_words, m.word_order))
    exponent = 0
    if q.dp_address is not None:
        exponent = regs[q.dp_address - m.start] + q.dp_offset
    return float(raw) * q.scale * 10.0**exponent


PHASE_KEYS = ("phase_voltage_v", "phase_current_a", "phase_power_w")


def decode(m: RegisterMap, regs: list[int]) -> dict[str, Any]:
    """All quantities of a block, keyed like :class:`MeterReading`'s fields."""
    if len(regs) < m.count:
        raise ValueError(f"{m.model}: expected {m.count} registers, got {len(regs)}")
    out: dict[str, Any] = {name: decode_quantity(m, q, regs) for name, q in m.quantities().items()}
    if m.phases:
        for i, key in enumerate(PHASE_KEYS):
            out[key] = tuple(decode_quantity(m, phase[i], regs) for phase in m.phases)
    return out


def _encode_quantity(m: RegisterMap, q: Quantity, value: float, regs: list[int]) -> None:
    off = q.address - m.start
    if q.dtype == "f32":
        data = struct.pack(">f", value / q.scale)
        regs[off : off + 2] = _bytes_to_words(data, m.word_order)
        return
    lo, hi = _INT_RANGE[q.dtype]
    dps = q.dp_choices if q.dp_address is not None else (None,)
    for dp in dps:  # the finest resolution whose raw value still fits
        exponent = 0 if dp is None else dp + q.dp_offset
        scaled = value / q.scale / 10.0**exponent
        raw = math.floor(scaled + 1e-9) if q.counter else math.floor(scaled + 0.5)
        if lo <= raw <= hi:
            break
    else:
        raw = max(lo, min(hi, raw))  # saturate like a meter display does
    data = struct.pack(_FMT[q.dtype], raw)
    regs[off : off + q.words] = _bytes_to_words(data, m.word_order)
    if q.dp_address is not None and dp is not None:
        regs[q.dp_address - m.start] = dp


def encode(m: RegisterMap, values: dict[str, Any], regs: list[int] | None = None) -> list[int]:
    """Fill a register block with ``values`` (keys as returned by :func:`decode`).

    Integer quantities are rounded to the register's resolution, counters truncated
    (this is where the twin's full-precision energy becomes what a meter shows).
    """
    regs = list(regs) if regs is not None else [0] * m.count
    for name, q in m.quantities().items():
        _encode_quantity(m, q, values.get(name, 0.0), regs)
    for i, key in enumerate(PHASE_KEYS):
        per_phase = values.get(key) or ()
        for phase, value in zip(m.phases, per_phase, strict=False):
            _encode_quantity(m, phase[i], value, regs)
    return regs
