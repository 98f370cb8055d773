"""Our CAN frame layout (see wiring/can-frames.md): pure encode/decode, no I/O.

11-bit IDs, big-endian multi-byte fields, ``n`` = connector 1..15 (the rig uses 1..2).
Controller -> power stage: 0x110+n contactors, 0x120+n module setpoint, 0x130+n SECC
command. Power stage -> controller: 0x190+n contactor status, 0x1A0+n module status,
0x1B0+n SECC status (what the EV says). Decoding problems raise :class:`FrameError`
with a reason; callers count and log them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from charger.hw.interfaces import EvseCommand, EvseStatus, EvStatus, HlcStage

CONTACTOR_COMMAND = 0x110
MODULE_SETPOINT = 0x120
EVSE_COMMAND = 0x130
CONTACTOR_STATUS = 0x190
MODULE_STATUS = 0x1A0
SECC_STATUS = 0x1B0
MAX_CONNECTOR = 15

# Fault bits of ContactorStatus byte 1.
FAULT_DC_PLUS_WELDED = 0x01
FAULT_DC_MINUS_WELDED = 0x02
FAULT_DC_PLUS_STUCK_OPEN = 0x04
FAULT_DC_MINUS_STUCK_OPEN = 0x08
FAULT_EMERGENCY_STOP = 0x10  # the e-stop loop is open: the safety relay dropped the contactors


class FrameError(ValueError):
    """A frame we cannot use: unknown ID, wrong length or out-of-range content."""


class UnknownFrameId(FrameError):
    """Not one of our IDs (another node's traffic, or noise)."""


@dataclass(frozen=True)
class ContactorCommand:
    dc_plus: bool = False
    dc_minus: bool = False

    @property
    def closed(self) -> bool:
        return self.dc_plus and self.dc_minus


@dataclass(frozen=True)
class ModuleSetpoint:
    voltage_v: float = 0.0
    current_a: float = 0.0
    enable: bool = False


@dataclass(frozen=True)
class ContactorStatus:
    dc_plus_closed: bool = False  # auxiliary contact feedback
    dc_minus_closed: bool = False
    faults: int = 0

    @property
    def closed(self) -> bool:
        return self.dc_plus_closed and self.dc_minus_closed


@dataclass(frozen=True)
class ModuleStatus:
    voltage_v: float = 0.0
    current_a: float = 0.0
    enabled: bool = False
    fault: bool = False
    temperature_c: int = 25
    isolation_fault: bool = False  # the insulation monitor reads below 100 kOhm


Payload = (
    ContactorCommand | ModuleSetpoint | EvseCommand | ContactorStatus | ModuleStatus | EvStatus
)

_BASES = {
    CONTACTOR_COMMAND: (ContactorCommand, 1),
    MODULE_SETPOINT: (ModuleSetpoint, 5),
    EVSE_COMMAND: (EvseCommand, 8),
    CONTACTOR_STATUS: (ContactorStatus, 2),
    MODULE_STATUS: (ModuleStatus, 6),
    SECC_STATUS: (EvStatus, 7),
}
_BASE_OF_TYPE = {cls: base for base, (cls, _) in _BASES.items()}


def _u16(value: float, unit: float, name: str) -> int:
    raw = round(value / unit)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"{name} {value} out of range for a u16 in steps of {unit}")
    return raw


def _u8(value: float, name: str, lo: int = 0, hi: int = 255) -> int:
    raw = round(value)
    if not lo <= raw <= hi:
        raise ValueError(f"{name} {value} out of range {lo}..{hi}")
    return raw


def frame_id(payload: Payload, connector: int) -> int:
    if not 1 <= connector <= MAX_CONNECTOR:
        raise ValueError(f"connector {connector} outside 1..{MAX_CONNECTOR}")
    return _BASE_OF_TYPE[type(payload)] + connector


def split_id(arbitration_id: int) -> tuple[int, int]:
    """(base, connector) of one of our IDs; raises FrameError for anyone else's."""
    base, n = arbitration_id & ~0xF, arbitration_id & 0xF
    if base not in _BASES or not 1 <= n <= MAX_CONNECTOR:
        raise UnknownFrameId(f"unknown id {arbitration_id:#05x}")
    return base, n


def encode(payload: Payload, connector: int) -> tuple[int, bytes]:
    """(arbitration_id, data) for ``payload`` addressed to/from ``connector``."""
    fid = frame_id(payload, connector)
    p = payload
    if isinstance(p, ContactorCommand):
        data = bytes([int(p.dc_plus) | int(p.dc_minus) << 1])
    elif isinstance(p, ModuleSetpoint):
        data = struct.pack(
            ">HHB",
            _u16(p.voltage_v, 0.1, "voltage"),
            _u16(p.current_a, 0.1, "current"),
            int(p.enable),
        )
    elif isinstance(p, EvseCommand):
        flags = int(p.authorized) | int(p.isolation_valid) << 1 | int(p.stop_requested) << 2
        data = struct.pack(
            ">BBHHH",
            int(p.status),
            flags,
            _u16(p.max_current_a, 0.1, "max current"),
            _u16(p.max_voltage_v, 0.1, "max voltage"),
            _u16(p.max_power_w, 100.0, "max power"),
        )
    elif isinstance(p, ContactorStatus):
        data = bytes([int(p.dc_plus_closed) | int(p.dc_minus_closed) << 1, p.faults & 0xFF])
    elif isinstance(p, ModuleStatus):
        flags = int(p.enabled) | int(p.fault) << 1 | int(p.isolation_fault) << 2
        data = struct.pack(
            ">HHBB",
            _u16(p.voltage_v, 0.1, "voltage"),
            _u16(max(0.0, p.current_a), 0.1, "current"),
            flags,
            _u8(p.temperature_c + 40, "temperature+40"),
        )
    elif isinstance(p, EvStatus):
        flags = (
            int(p.ev_ready)
            | int(p.charging_complete) << 1
            | int(p.ev_error) << 2
            | int(p.stop_requested) << 3
        )
        data = struct.pack(
            ">BBHHB",
            int(p.stage),
            _u8(p.soc_percent, "soc", 0, 100),
            _u16(p.target_voltage_v, 0.1, "target voltage"),
            _u16(p.target_current_a, 0.1, "target current"),
            flags,
        )
    else:  # pragma: no cover - the type union is closed
        raise TypeError(f"cannot encode {type(p).__name__}")
    return fid, data


def decode(arbitration_id: int, data: bytes) -> tuple[int, Payload]:
    """(connector, payload) of a received frame; raises :class:`FrameError`."""
    base, n = split_id(arbitration_id)
    cls, dlc = _BASES[base]
    data = bytes(data)
    if len(data) != dlc:
        raise FrameError(f"{cls.__name__} {arbitration_id:#05x}: DLC {len(data)}, expected {dlc}")
    try:
        if base == CONTACTOR_COMMAND:
            return n, ContactorCommand(bool(data[0] & 1), bool(data[0] & 2))
        if base == MODULE_SETPOINT:
            v, i, en = struct.unpack(">HHB", data)
            return n, ModuleSetpoint(v / 10, i / 10, bool(en & 1))
        if base == EVSE_COMMAND:
            st, fl, i, v, p = struct.unpack(">BBHHH", data)
            return n, EvseCommand(
                status=EvseStatus(st),
                authorized=bool(fl & 1),
                isolation_valid=bool(fl & 2),
                stop_requested=bool(fl & 4),
                max_current_a=i / 10,
                max_voltage_v=v / 10,
                max_power_w=p * 100.0,
            )
        if base == CONTACTOR_STATUS:
            return n, ContactorStatus(bool(data[0] & 1), bool(data[0] & 2), data[1])
        if base == MODULE_STATUS:
            v, i, fl, t = struct.unpack(">HHBB", data)
            return n, ModuleStatus(v / 10, i / 10, bool(fl & 1), bool(fl & 2), t - 40, bool(fl & 4))
        st, soc, v, i, fl = struct.unpack(">BBHHB", data)
        if soc > 100:
            raise FrameError(f"SeccStatus {arbitration_id:#05x}: SoC {soc} %")
        return n, EvStatus(
            stage=HlcStage(st),
            soc_percent=float(soc),
            target_voltage_v=v / 10,
            target_current_a=i / 10,
            ev_ready=bool(fl & 1),
            charging_complete=bool(fl & 2),
            ev_error=bool(fl & 4),
            stop_requested=bool(fl & 8),
        )
    except ValueError as exc:  # an enum value we do not know
        if isinstance(exc, FrameError):
            raise
        raise FrameError(f"{cls.__name__} {arbitration_id:#05x}: {exc}") from exc
