"""What the EV emulator and the scenarios use of a vehicle-side pilot board."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from charger.hw.interfaces import CpState
from charger.hw.pilot.circuit import EvState

#: IEC 61851-1: 5 % (3-7 %) asks for digital communication, 8-97 % is an AC current limit.
DIGITAL_DUTY = (0.03, 0.07)
AC_DUTY = (0.08, 0.97)


@dataclass(frozen=True)
class PilotSeen:
    """The pilot as the vehicle measures it: levels by ADC, duty and frequency by edges."""

    state: CpState  # from the high level
    high_v: float
    low_v: float
    duty: float | None  # None: no PWM (a steady level)
    frequency_hz: float | None

    @property
    def offer(self) -> Literal["digital", "ac", "none", "invalid"]:
        """What the charger asks of the EV: HLC (5 %), an AC limit, nothing, or a bad duty."""
        if self.duty is None:
            return "none"
        if DIGITAL_DUTY[0] <= self.duty <= DIGITAL_DUTY[1]:
            return "digital"
        if AC_DUTY[0] <= self.duty <= AC_DUTY[1]:
            return "ac"
        return "invalid"

    @property
    def ac_limit_a(self) -> float | None:
        """The AC current the duty allows (None unless it is an AC offer)."""
        if self.offer != "ac" or self.duty is None:
            return None
        pct = self.duty * 100
        return pct * 0.6 if pct < 85 else (pct - 64) * 2.5


class EvBoard(Protocol):
    """A vehicle inlet on the bench: the EV's CP network, the plug's PP coding, a reading."""

    def set_cp(self, state: EvState) -> None:
        """Switch the EV's network: unplugged, B, C, D, diode_fault (B, diode shorted), E."""

    def set_pp(self, ohms: float | None) -> None:
        """Select a fitted PP coding resistor (None: no plug)."""

    def press_latch(self, pressed: bool) -> None:
        """CCS1: press (or release) the plug's latch button (+330 Ohm on PP)."""

    def pilot(self) -> PilotSeen: ...

    def pp_volts(self) -> float | None:
        """The vehicle's PP reading (None: the board has no PP channel)."""

    def close(self) -> None: ...
