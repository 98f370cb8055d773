"""CP/PP circuit physics and our measuring front-end, as pure functions.

Control pilot (IEC 61851-1 / SAE J1772): the EVSE drives +12 V / -12 V through 1 kOhm;
the EV loads it with a diode and 2.74 kOhm (B), 882 Ohm (C) or 246 Ohm (D). The diode
conducts only on the positive half, so a healthy EV leaves the low level at -12 V; a
shorted diode pulls the low level to about minus the high level.

CP front-end (ours): the +/-12 V line reaches the MCP3008 through a three-resistor
level shifter, CP -- R1 100k -- node -- R2 22k -- 3.3 V, node -- R3 28k -- GND, giving
``adc = 0.1097 * cp + 1.645``: -15..+15 V maps into 0..3.29 V, so the full -12..+12 V
swing plus the window tolerances (-13 V, +12.6 V) stay inside the ADC range. Its load
(> 100 kOhm) on the CP is neglected.

Proximity: pull-up to 5 V through 330 Ohm and 2.7 kOhm to PE, the J1772 vehicle-inlet
circuit, so the CCS1 windows from the standard apply as they are (latched 150 Ohm
-> 1.50 V, latch pressed 480 Ohm -> 2.76 V, unplugged -> 4.45 V). The 2.7 kOhm is built
as 1.1k + 1.6k and the ADC reads the tap (x 0.593, 5 V -> 2.96 V). The same front-end
serves CCS2, where the coding resistor of our DC gun is taken as 1.5 kOhm
(:data:`CCS2_DC_GUN_PP_OHMS`, an assumption: measure the rig's gun and set it).
"""

from __future__ import annotations

import math
from typing import Literal

from charger.hw.interfaces import CpReading, CpState, PpReading

EvState = Literal["unplugged", "B", "C", "D", "diode_fault", "E"]
EV_STATES: tuple[EvState, ...] = ("unplugged", "B", "C", "D", "diode_fault", "E")

EVSE_V = 12.0
EVSE_R_OHMS = 1000.0
DIODE_DROP_V = 0.7
R_B_OHMS = 2740.0
R_C_OHMS = 1.0 / (1.0 / 2740.0 + 1.0 / 1300.0)  # 882 Ohm
R_D_OHMS = 1.0 / (1.0 / 2740.0 + 1.0 / 270.0)  # 246 Ohm
EV_RESISTANCE = {"B": R_B_OHMS, "C": R_C_OHMS, "D": R_D_OHMS, "diode_fault": R_B_OHMS}

# High-level windows from bench-facts (inclusive).
CP_WINDOWS: dict[CpState, tuple[float, float]] = {
    "A": (11.4, 12.6),
    "B": (8.36, 9.56),
    "C": (5.48, 6.49),
    "D": (2.62, 3.25),
    "E": (-1.0, 1.0),
    "F": (-13.0, -10.0),
}
CP_LOW_WINDOW = (-13.0, -10.0)

# CP level shifter (see module docstring).
ADC_VREF = 3.3
CP_R1, CP_R2, CP_R3 = 100e3, 22e3, 28e3
_G = 1 / CP_R1 + 1 / CP_R2 + 1 / CP_R3
CP_GAIN = (1 / CP_R1) / _G
CP_OFFSET_V = ADC_VREF * (1 / CP_R2) / _G

# PP front-end.
PP_PULLUP_V = 5.0
PP_PULLUP_OHMS = 330.0
PP_PULLDOWN_TOP_OHMS = 1100.0
PP_PULLDOWN_BOTTOM_OHMS = 1600.0
PP_PULLDOWN_OHMS = PP_PULLDOWN_TOP_OHMS + PP_PULLDOWN_BOTTOM_OHMS
PP_TAP = PP_PULLDOWN_BOTTOM_OHMS / PP_PULLDOWN_OHMS

CCS1_LATCHED_OHMS = 150.0
CCS1_LATCH_PRESSED_OHMS = 480.0  # 150 + 330 with the latch button pressed
CCS2_DC_GUN_PP_OHMS = 1500.0
CCS1_PP_WINDOWS = {"latched": (0.80, 1.72), "pressed": (2.51, 3.01), "unplugged": (4.20, 4.65)}
CCS2_PP_OHMS_RANGE = (75.0, 2000.0)  # below 75 Ohm or open: error / not plugged


def _cp_when_driven(drive_v: float, ev: EvState) -> float:
    """CP voltage while the EVSE drives ``drive_v`` (+12 or -12) into the EV's network."""
    if ev == "unplugged":
        return drive_v
    if ev == "E":
        return 0.0
    r = EV_RESISTANCE[ev]
    if ev == "diode_fault":  # diode shorted: the resistor loads both half-waves
        return drive_v * r / (EVSE_R_OHMS + r)
    if drive_v <= DIODE_DROP_V:  # diode blocks
        return drive_v
    return DIODE_DROP_V + (drive_v - DIODE_DROP_V) * r / (EVSE_R_OHMS + r)


def pwm_running(duty: float | None) -> bool:
    return duty is not None and 0.0 < duty < 1.0


def cp_levels(duty: float | None, ev: EvState) -> tuple[float, float]:
    """(high, low) CP voltages for the EVSE's output and the EV's network.

    ``duty`` None (or >= 1): steady +12 V; 0: steady -12 V; else PWM. Without PWM there
    is a single level, reported as both high and low.
    """
    if duty is None or duty >= 1.0:
        v = _cp_when_driven(EVSE_V, ev)
        return v, v
    if duty <= 0.0:
        v = _cp_when_driven(-EVSE_V, ev)
        return v, v
    return _cp_when_driven(EVSE_V, ev), _cp_when_driven(-EVSE_V, ev)


def cp_at_phase(duty: float | None, ev: EvState, phase: float) -> float:
    """CP voltage at ``phase`` (0..1) of the 1 kHz period: high while phase < duty."""
    high, low = cp_levels(duty, ev)
    if not pwm_running(duty):
        return high
    assert duty is not None
    return high if phase < duty else low


def classify_cp(high_v: float) -> CpState:
    """The state whose window holds the high level; outside every window counts as E."""
    for state, (lo, hi) in CP_WINDOWS.items():
        if lo <= high_v <= hi:
            return state
    return "E"


def cp_reading(high_v: float, low_v: float, duty: float | None) -> CpReading:
    """Classify measured levels; a diode fault needs PWM to be seen (the low level)."""
    state = classify_cp(high_v)
    # A low level above -10 V while the EV loads the line: the diode conducts backwards.
    diode_fault = pwm_running(duty) and state in ("B", "C", "D") and low_v > CP_LOW_WINDOW[1]
    return CpReading(state=state, high_v=high_v, low_v=low_v, diode_fault=diode_fault)


def cp_to_adc(cp_v: float) -> float:
    return CP_GAIN * cp_v + CP_OFFSET_V


def adc_to_cp(adc_v: float) -> float:
    return (adc_v - CP_OFFSET_V) / CP_GAIN


def pp_volts(pp_ohms: float | None) -> float:
    """PP node voltage with ``pp_ohms`` between PP and PE (None/inf: nothing plugged)."""
    if pp_ohms is None or math.isinf(pp_ohms):
        r = PP_PULLDOWN_OHMS
    elif pp_ohms <= 0:
        return 0.0
    else:
        r = 1.0 / (1.0 / pp_ohms + 1.0 / PP_PULLDOWN_OHMS)
    return PP_PULLUP_V * r / (PP_PULLUP_OHMS + r)


def pp_to_adc(volts: float) -> float:
    return volts * PP_TAP


def adc_to_pp(adc_v: float) -> float:
    return adc_v / PP_TAP


def pp_ohms_from_volts(volts: float) -> float:
    """The PP-PE resistance a node voltage implies (inf when open)."""
    if volts <= 0:
        return 0.0
    if volts >= PP_PULLUP_V:
        return math.inf
    r_eff = PP_PULLUP_OHMS * volts / (PP_PULLUP_V - volts)
    inv = 1.0 / r_eff - 1.0 / PP_PULLDOWN_OHMS
    return math.inf if inv <= 1e-9 else 1.0 / inv


def classify_pp(volts: float, standard: Literal["CCS1", "CCS2"]) -> PpReading:
    if standard == "CCS1":
        lo, hi = CCS1_PP_WINDOWS["latched"]
        if lo <= volts <= hi:
            return PpReading(volts=volts, plugged=True)
        lo, hi = CCS1_PP_WINDOWS["pressed"]
        if lo <= volts <= hi:
            return PpReading(volts=volts, plugged=True, latch_pressed=True)
        return PpReading(volts=volts, plugged=False)
    ohms = pp_ohms_from_volts(volts)
    lo, hi = CCS2_PP_OHMS_RANGE
    return PpReading(volts=volts, plugged=lo <= ohms <= hi)
