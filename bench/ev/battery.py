"""A traction battery just detailed enough to drive a DC charging session.

The open-circuit voltage and the current the battery accepts are what the EV
asks the charger for; the state of charge moves only with energy actually
delivered (the caller integrates V*I*dt), so a test can check SoC against the
meter twin to the watt-hour.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Taper:
    """Constant current / constant power up to ``start_percent``, then a linear fall.

    Between ``start_percent`` and 100 % the accepted current falls linearly from
    the untapered value to ``end_current_a``; at 100 % the battery accepts nothing.
    """

    start_percent: float = 80.0
    end_current_a: float = 5.0


class Battery:
    """Open-circuit voltage, charge acceptance and state of charge of one pack."""

    def __init__(
        self,
        capacity_wh: float,
        soc_percent: float,
        *,
        nominal_voltage_v: float,
        min_voltage_v: float,
        max_voltage_v: float,
        max_current_a: float,
        max_power_w: float,
        taper: Taper | None = None,
        efficiency: float = 1.0,
    ) -> None:
        if capacity_wh <= 0:
            raise ValueError("capacity_wh must be positive")
        if not 0 < min_voltage_v <= nominal_voltage_v <= max_voltage_v:
            raise ValueError("need 0 < min_voltage_v <= nominal_voltage_v <= max_voltage_v")
        if not 0 < efficiency <= 1:
            raise ValueError("efficiency must be in (0, 1]")
        self.capacity_wh = float(capacity_wh)
        self.soc_percent = min(100.0, max(0.0, float(soc_percent)))
        self.nominal_voltage_v = float(nominal_voltage_v)
        self.min_voltage_v = float(min_voltage_v)
        self.max_voltage_v = float(max_voltage_v)
        self.max_current_a = float(max_current_a)
        self.max_power_w = float(max_power_w)
        self.taper = taper if taper is not None else Taper()
        self.efficiency = float(efficiency)

    def __repr__(self) -> str:
        return (
            f"Battery({self.capacity_wh:.0f} Wh, {self.soc_percent:.2f} %, "
            f"{self.voltage_v:.1f} V, accepts {self.accept_current_a():.1f} A)"
        )

    @property
    def voltage_v(self) -> float:
        """Open-circuit voltage: piecewise linear through min (0 %), nominal (50 %), max (100 %)."""
        soc = self.soc_percent
        if soc <= 50.0:
            return self.min_voltage_v + (self.nominal_voltage_v - self.min_voltage_v) * soc / 50.0
        return (
            self.nominal_voltage_v
            + (self.max_voltage_v - self.nominal_voltage_v) * (soc - 50.0) / 50.0
        )

    @property
    def energy_wh(self) -> float:
        """Energy stored now."""
        return self.capacity_wh * self.soc_percent / 100.0

    def accept_current_a(self) -> float:
        """Current the battery takes now: its current and power limits, tapered near full."""
        if self.soc_percent >= 100.0:
            return 0.0
        base = min(self.max_current_a, self.max_power_w / self.voltage_v)
        start = self.taper.start_percent
        if self.soc_percent <= start or start >= 100.0:
            return base
        end = min(self.taper.end_current_a, base)
        fraction = (self.soc_percent - start) / (100.0 - start)
        return base + (end - base) * fraction

    def add_energy(self, wh: float) -> float:
        """Store ``wh`` delivered at the terminals; returns the watt-hours actually stored.

        The charging efficiency is applied here (default 1.0 keeps the maths
        checkable); a full pack stores nothing more.
        """
        if wh <= 0:
            return 0.0
        stored = min(wh * self.efficiency, self.capacity_wh - self.energy_wh)
        stored = max(0.0, stored)
        self.soc_percent = min(100.0, self.soc_percent + stored / self.capacity_wh * 100.0)
        return stored


def ccs2_car(soc_percent: float = 20.0) -> Battery:
    """A 77 kWh, 400 V class CCS2 car (96s pack, ~135 kW peak) as found in Europe."""
    return Battery(
        77_000.0,
        soc_percent,
        nominal_voltage_v=370.0,
        min_voltage_v=320.0,
        max_voltage_v=403.0,
        max_current_a=350.0,
        max_power_w=135_000.0,
    )


def ccs1_car(soc_percent: float = 20.0) -> Battery:
    """A 66 kWh, 400 V class CCS1 car (96s pack, ~55 kW peak) as found in North America."""
    return Battery(
        66_000.0,
        soc_percent,
        nominal_voltage_v=350.0,
        min_voltage_v=300.0,
        max_voltage_v=398.0,
        max_current_a=150.0,
        max_power_w=55_000.0,
    )
