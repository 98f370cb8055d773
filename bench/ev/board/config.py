"""How to reach one vehicle-side pilot board: its relays, its ADC and its PWM input.

One ``[[ev]]`` table of the rig file. Relays put the EV's network on the CP (2.74 kOhm
behind the diode for B, 1.3 kOhm added for C, 270 Ohm for D), short the diode (diode
fault) or the CP to PE (state E); ``pp_resistors`` maps each PP coding resistor fitted
on the board (Ohm, as a string key: TOML keys are strings) to the GPIO of its relay;
``latch_pin`` (CCS1) opens the switch across the plug's 330 Ohm, as pressing the latch
button does. The vehicle reads the CP through an MCP3008 (the same level shifter as
the charger's front-end) and times the PWM's edges on ``pwm_in_pin`` (a comparator:
high while CP > 0 V).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

RELAY_PINS = ("b_pin", "c_pin", "d_pin", "diode_short_pin", "cp_pe_short_pin")


@dataclass(frozen=True, kw_only=True)
class EvBoardConfig:
    connector: int = 1  # the charger connector whose cable this inlet takes
    standard: Literal["CCS1", "CCS2"] = "CCS2"
    backend: Literal["gpio", "sim"] = "gpio"
    pin_factory: str | None = None  # None: "charger-pi" (gpio) or "bench-ev-wire" (sim)
    b_pin: int
    c_pin: int
    d_pin: int
    diode_short_pin: int
    cp_pe_short_pin: int
    pp_resistors: Mapping[str, int] = field(default_factory=dict)
    latch_pin: int | None = None
    relay_active_high: bool = True  # many relay boards switch on a low input
    pwm_in_pin: int
    # gpiozero 2.0 opens an MCP3008 by port/device on SPI0 only: CE0 or CE1, which may be
    # the charger-side pilot front-end's chip (other channels; checked with the pins).
    spi_port: int = 0
    spi_device: int = 1
    cp_channel: int = 4
    pp_channel: int | None = 5
    wire_file: str | None = None  # sim only: the simulated rig's pilot wire
    slot: int = 0

    def __post_init__(self) -> None:
        if self.standard not in ("CCS1", "CCS2"):
            raise ValueError(f"EvBoardConfig.standard must be CCS1 or CCS2, not {self.standard!r}")
        if self.backend not in ("gpio", "sim"):
            raise ValueError(f"EvBoardConfig.backend must be gpio or sim, not {self.backend!r}")
        if self.backend == "sim" and not self.wire_file:
            raise ValueError("EvBoardConfig: backend 'sim' needs a 'wire_file'")
        for key in self.pp_resistors:
            if self.ohms(key) <= 0:
                raise ValueError(f"EvBoardConfig.pp_resistors: {key!r} is not a resistance")
        channels = [self.cp_channel] + ([self.pp_channel] if self.pp_channel is not None else [])
        if any(not 0 <= ch <= 7 for ch in channels):
            raise ValueError("EvBoardConfig: cp_channel and pp_channel are MCP3008 channels 0..7")
        if len(set(channels)) != len(channels):
            raise ValueError("EvBoardConfig: cp_channel and pp_channel must differ")
        if self.spi_port != 0 or self.spi_device not in (0, 1):
            raise ValueError("EvBoardConfig: the ADC must be on SPI0 (spi_port 0), CE0 or CE1")
        if self.standard == "CCS2" and self.latch_pin is not None:
            raise ValueError("EvBoardConfig.latch_pin: a CCS2 plug has no latch button")

    @staticmethod
    def ohms(key: str) -> float:
        try:
            return float(key)
        except ValueError:
            raise ValueError(
                f"EvBoardConfig.pp_resistors: key {key!r} must be the resistor's Ohm value"
            ) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvBoardConfig:
        if not isinstance(data, dict):
            raise ValueError(f"[[ev]]: expected a table, got {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"EvBoardConfig: unknown keys {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:  # missing required keys
            raise ValueError(f"EvBoardConfig: {exc}") from None

    def relays(self) -> dict[str, int]:
        """Every relay's role -> GPIO."""
        out = {name.removesuffix("_pin"): getattr(self, name) for name in RELAY_PINS}
        out |= {f"PP {key}": gpio for key, gpio in self.pp_resistors.items()}
        if self.latch_pin is not None:
            out["latch"] = self.latch_pin
        return out


#: the simulated board's pins (any free GPIOs do: they are mock pins on the wire)
SIM_PINS: dict[str, Any] = {
    "b_pin": 5,
    "c_pin": 6,
    "d_pin": 16,
    "diode_short_pin": 20,
    "cp_pe_short_pin": 21,
    "pwm_in_pin": 26,
}
#: PP resistors a simulated board has fitted: the plug's own and one out of every window
SIM_PP = {"CCS1": {"150": 22, "47": 23}, "CCS2": {"1500": 22, "47": 23}}


def sim_board(
    wire_file: str,
    slot: int,
    connector: int,
    standard: Literal["CCS1", "CCS2"],
    **pins: Any,
) -> EvBoardConfig:
    """A board on the simulated rig's wire, in ``connector``'s slot."""
    data: dict[str, Any] = {**SIM_PINS, "pp_resistors": SIM_PP[standard]}
    if standard == "CCS1":
        data["latch_pin"] = 24
    data |= pins
    return EvBoardConfig(
        connector=connector,
        standard=standard,
        backend="sim",
        wire_file=wire_file,
        slot=slot,
        **data,
    )
