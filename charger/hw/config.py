"""How to reach each part of the charger, as plain data.

One config describes a real rig (serial ports, GPIO pins, ``can0``) or a simulated
one (pty paths, Modbus TCP ports, a python-can-remote URL, a wire file); the drivers
built from it are the same. Loadable from TOML or JSON, dumpable to a JSON-able dict
so a rig can hand the agent process its config on the command line or in a file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any], nested: dict[str, type] | None = None) -> T:
    """Construct a dataclass from a dict, refusing unknown keys (typos in rig files)."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a table/object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    kwargs = dict(data)
    for key, sub in (nested or {}).items():
        if key in kwargs:
            kwargs[key] = sub.from_dict(kwargs[key])  # type: ignore[attr-defined]
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required keys
        raise ValueError(f"{cls.__name__}: {exc}") from exc


def _choice(owner: str, name: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class MeterConfig:
    """A Modbus energy meter: TCP (twin, gateway) or RTU (RS-485 on the rig)."""

    model: str = "acrel-djsf1352-rn"
    transport: Literal["tcp", "rtu"]
    host: str = "127.0.0.1"
    port: int | None = None  # tcp only; None means 502
    device: str | None = None  # rtu only: serial device, e.g. /dev/ttyUSB0
    baudrate: int = 9600
    unit: int = 1
    timeout_s: float = 0.5
    # Wh per count of the energy registers of integer-register models (Acrel: 10, i.e.
    # 0.01 kWh; some firmware counts 1 Wh). None: the model's default (registers.py).
    energy_wh_per_count: float | None = None

    def __post_init__(self) -> None:
        _choice("MeterConfig", "transport", self.transport, ("tcp", "rtu"))
        if self.energy_wh_per_count is not None and self.energy_wh_per_count <= 0:
            raise ValueError("MeterConfig.energy_wh_per_count must be positive")
        if self.transport == "rtu" and not self.device:
            raise ValueError("MeterConfig: transport 'rtu' needs a serial 'device'")
        if not 0 <= self.unit <= 247:
            raise ValueError(f"MeterConfig.unit must be 0..247, got {self.unit}")
        if self.timeout_s <= 0:
            raise ValueError("MeterConfig.timeout_s must be positive")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeterConfig:
        return _build(cls, data)

    def line(self) -> str:
        """The bus this meter hangs on: meters with equal lines share one client and lock."""
        if self.transport == "tcp":
            return f"tcp:{self.host}:{self.port or 502}"
        return f"rtu:{self.device}"


@dataclass(frozen=True, kw_only=True)
class PilotConfig:
    """CP/PP front-end: a PWM pin and two MCP3008 channels, real or over a wire file.

    ``slot`` is the 0-based index of this connector in the wire file (sim only).
    """

    backend: Literal["gpio", "sim"]
    pwm_pin: int
    spi_port: int = 0
    spi_device: int = 0
    cp_channel: int
    pp_channel: int
    wire_file: str | None = None
    slot: int = 0
    # gpiozero pin factory (entry-point name); None: "charger-pi" (lgpio with hardware
    # PWM) for backend "gpio", "bench-wire" (the bench's simulated board) for "sim".
    pin_factory: str | None = None

    def __post_init__(self) -> None:
        _choice("PilotConfig", "backend", self.backend, ("gpio", "sim"))
        for name in ("cp_channel", "pp_channel"):
            if not 0 <= getattr(self, name) <= 7:
                raise ValueError(f"PilotConfig.{name} must be an MCP3008 channel 0..7")
        if self.cp_channel == self.pp_channel:
            raise ValueError("PilotConfig: cp_channel and pp_channel must differ")
        if self.spi_device not in (0, 1):
            raise ValueError("PilotConfig.spi_device must be 0 (CE0) or 1 (CE1)")
        if self.backend == "sim" and not self.wire_file:
            raise ValueError("PilotConfig: backend 'sim' needs a 'wire_file'")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PilotConfig:
        return _build(cls, data)


@dataclass(frozen=True, kw_only=True)
class CanConfig:
    """python-can bus: ``socketcan``/``can0`` on the Pi, ``remote``/``ws://...`` in simulation."""

    interface: str
    channel: str
    bitrate: int = 500000
    # MCP2515 HAT on the Pi (wiring and boot configuration only; None: no HAT).
    oscillator_hz: int | None = None
    interrupt_pin: int = 25

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanConfig:
        return _build(cls, data)


@dataclass(frozen=True, kw_only=True)
class RfidConfig:
    """Serial RFID reader: an RDM6300 (9600 baud, repeats frames, so removal is silence)
    or a PN532 over HSU (115200 baud, polled with InListPassiveTarget)."""

    model: str = "rdm6300"
    device: str
    baudrate: int | None = None  # None: the model's (RDM6300 9600, PN532 115200)
    removal_silence_s: float = 0.3

    def __post_init__(self) -> None:
        _choice("RfidConfig", "model", self.model, ("rdm6300", "pn532"))
        if self.baudrate is None:
            object.__setattr__(self, "baudrate", 115200 if self.model == "pn532" else 9600)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RfidConfig:
        return _build(cls, data)


@dataclass(frozen=True, kw_only=True)
class ConnectorConfig:
    id: int
    standard: Literal["CCS1", "CCS2"]
    meter: MeterConfig
    pilot: PilotConfig

    def __post_init__(self) -> None:
        _choice("ConnectorConfig", "standard", self.standard, ("CCS1", "CCS2"))
        if self.id < 1:
            raise ValueError("ConnectorConfig.id starts at 1 (OCPP connector 0 is the station)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectorConfig:
        return _build(cls, data, {"meter": MeterConfig, "pilot": PilotConfig})


@dataclass(frozen=True, kw_only=True)
class HardwareConfig:
    connectors: list[ConnectorConfig]
    can: CanConfig
    rfid: RfidConfig

    def __post_init__(self) -> None:
        ids = [c.id for c in self.connectors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"HardwareConfig: duplicate connector ids {ids}")
        lines: dict[str, list[ConnectorConfig]] = {}
        for c in self.connectors:
            lines.setdefault(c.meter.line(), []).append(c)
        for line, users in lines.items():
            units = [c.meter.unit for c in users]
            if len(set(units)) != len(units):
                raise ValueError(
                    f"HardwareConfig: meters on {line} need distinct unit ids, got {units}"
                )
            if len({c.meter.baudrate for c in users}) > 1:
                raise ValueError(f"HardwareConfig: meters on {line} must share one baudrate")
        from charger.hw.header import check

        check(self)  # the Pi header: no pin twice, PWM on PWM pins, bus pins reserved

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HardwareConfig:
        data = dict(data)
        raw = data.get("connectors", [])
        if not isinstance(raw, list):
            raise ValueError("HardwareConfig.connectors must be a list")
        data["connectors"] = [ConnectorConfig.from_dict(c) for c in raw]
        return _build(cls, data, {"can": CanConfig, "rfid": RfidConfig})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; ``from_dict(to_dict())`` round-trips."""
        return asdict(self)

    @classmethod
    def load(cls, path: str | Path) -> HardwareConfig:
        """Read a ``.toml`` or ``.json`` file."""
        path = Path(path)
        if path.suffix == ".toml":
            with path.open("rb") as f:
                return cls.from_dict(tomllib.load(f))
        return cls.from_dict(json.loads(path.read_text()))
