"""DC output of one connector, one tick at a time.

The rig's physics loop calls :func:`dc_output` each tick with what the charger
commanded and what the EV is doing, and gets back the voltage and current at the
connector. Energy is not counted here: the caller integrates V*I*dt into the
meter twin and into the battery (``EvSession.charge``), so both see the same
joules and a test can compare them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_VOLTAGE_TAU_S = 0.1
"""First-order time constant of the output voltage with no battery attached."""
DEFAULT_CURRENT_SLEW_A_PER_S = 100.0
"""How fast the modules raise their current; typical DC modules ramp tens of A/s."""


@dataclass(frozen=True)
class ModuleSetpoint:
    """What the charger asked of its power modules (``PowerStage.set_output``)."""

    voltage_v: float = 0.0
    current_limit_a: float = 0.0
    enabled: bool = False


@dataclass(frozen=True)
class ChargerLimits:
    """The charger's rating for this connector."""

    max_current_a: float
    max_power_w: float


@dataclass(frozen=True)
class EvElectrical:
    """The EV as the DC bus sees it (``EvSession.electrical()``)."""

    contactor_closed: bool
    battery_voltage_v: float
    accept_current_a: float
    target_current_a: float


@dataclass(frozen=True)
class DcOutput:
    """Voltage and current at the connector, between the charger's and the EV's contactors."""

    voltage_v: float = 0.0
    current_a: float = 0.0


def current_limit_a(
    module: ModuleSetpoint, limits: ChargerLimits, ev: EvElectrical, voltage_v: float
) -> float:
    """The smallest of every limit on the current at ``voltage_v``; never negative."""
    power_limit = limits.max_power_w / voltage_v if voltage_v > 0 else math.inf
    return max(
        0.0,
        min(
            module.current_limit_a,
            limits.max_current_a,
            power_limit,
            ev.target_current_a,
            ev.accept_current_a,
        ),
    )


def dc_output(
    *,
    dt: float,
    contactors_closed: bool,
    module: ModuleSetpoint,
    limits: ChargerLimits,
    ev: EvElectrical,
    previous: DcOutput | None = None,
    voltage_tau_s: float = DEFAULT_VOLTAGE_TAU_S,
    current_slew_a_per_s: float = DEFAULT_CURRENT_SLEW_A_PER_S,
) -> DcOutput:
    """The connector's output after ``dt`` seconds, given the previous tick's output.

    ``contactors_closed`` is the charger contactors' actual state (auxiliary
    feedback), not the command. Rules:

    - EV contactor closed: the battery clamps the bus, so the voltage is the
      battery's. Current flows only if the charger's contactors are closed, the
      module is enabled and set at or above the battery voltage; it rises toward
      the smallest limit at ``current_slew_a_per_s`` and falls to a lower limit at
      once (so it never exceeds any limit, even for one tick).
    - EV contactor open (CableCheck, PreCharge, after the stop): no load, no
      current; the voltage follows the module setpoint with a first-order lag
      while the charger's contactors are closed and the module enabled, and bleeds
      toward 0 V otherwise.
    """
    prev = previous if previous is not None else DcOutput()
    if ev.contactor_closed:
        voltage = ev.battery_voltage_v
        if not (contactors_closed and module.enabled) or module.voltage_v < voltage:
            return DcOutput(voltage, 0.0)
        limit = current_limit_a(module, limits, ev, voltage)
        rising = max(0.0, prev.current_a) + current_slew_a_per_s * max(0.0, dt)
        return DcOutput(voltage, min(limit, rising))

    target = module.voltage_v if (contactors_closed and module.enabled) else 0.0
    if voltage_tau_s <= 0 or dt <= 0:
        voltage = target if voltage_tau_s <= 0 else prev.voltage_v
    else:
        voltage = target + (prev.voltage_v - target) * math.exp(-dt / voltage_tau_s)
    return DcOutput(voltage, 0.0)
