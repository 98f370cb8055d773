"""CCS1 and CCS2 as data: what the EV puts on the control pilot and the proximity pin.

Both share CP, PLC and the DC message sequence; for a DC-only charger they differ
only in the proximity (PP) circuit, so that is all a :class:`Standard` holds. The
pilot twin turns these resistances into the levels the charger's ADC reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CpNetwork = Literal["unplugged", "B", "C", "D"]
PpState = Literal["unplugged", "plugged", "latch_pressed", "error"]

# --- Control pilot (IEC 61851-1 / SAE J1772) ---------------------------------

CP_EVSE_SUPPLY_V = 12.0
CP_EVSE_SOURCE_OHMS = 1000.0
CP_DIODE_DROP_V = 0.7
CP_R_B_OHMS = 2740.0  # always present behind the diode
CP_R_C_OHMS = 1300.0  # switched in parallel for C
CP_R_D_OHMS = 270.0  # switched in parallel for D (ventilation required)


def _parallel(a: float, b: float) -> float:
    return a * b / (a + b)


CP_NETWORK_OHMS: dict[CpNetwork, float | None] = {
    "unplugged": None,
    "B": CP_R_B_OHMS,
    "C": _parallel(CP_R_B_OHMS, CP_R_C_OHMS),  # 882 Ohm
    "D": _parallel(CP_R_B_OHMS, CP_R_D_OHMS),  # 246 Ohm
}
"""Resistance behind the EV's diode; None when nothing is plugged (state A)."""

CP_STATE: dict[CpNetwork, Literal["A", "B", "C", "D"]] = {
    "unplugged": "A",
    "B": "B",
    "C": "C",
    "D": "D",
}

DIGITAL_COMM_DUTY = (0.03, 0.07)
"""5 % nominal: digital communication required (CCS DC always uses it)."""


def cp_high_volts(network: CpNetwork) -> float:
    """Positive CP level the EVSE measures with this network: 12 / ~9 / ~6 / ~3 V."""
    ohms = CP_NETWORK_OHMS[network]
    if ohms is None:
        return CP_EVSE_SUPPLY_V
    drive = CP_EVSE_SUPPLY_V - CP_DIODE_DROP_V
    return drive * ohms / (ohms + CP_EVSE_SOURCE_OHMS) + CP_DIODE_DROP_V


def is_digital_comm(duty: float | None) -> bool:
    """True when the EVSE's PWM duty (a fraction, 0.05 = 5 %) asks for HLC."""
    return duty is not None and DIGITAL_COMM_DUTY[0] <= duty <= DIGITAL_COMM_DUTY[1]


# --- Proximity: CCS1 (SAE J1772 plug, read by the vehicle) --------------------

CCS1_PP_PULLUP_V = 5.0  # vehicle side: 5 V through 330 Ohm ...
CCS1_PP_PULLUP_OHMS = 330.0
CCS1_PP_VEHICLE_OHMS = 2700.0  # ... against 2.7 kOhm to PE, in parallel with the plug's
CCS1_PP_LATCHED_OHMS = 150.0
CCS1_PP_BUTTON_OHMS = 330.0  # switch S3 opens: 150 + 330 = 480 Ohm

CCS1_PP_VOLT_WINDOWS: dict[PpState, tuple[float, float]] = {
    "plugged": (0.80, 1.72),
    "latch_pressed": (2.51, 3.01),
    "unplugged": (4.20, 4.65),
}
"""Vehicle-side PP readings (bench-facts) that the ohm windows below are derived from."""


def ccs1_pp_volts(ohms: float | None) -> float:
    """Vehicle-side PP voltage of a J1772 inlet with the plug's resistance ``ohms``."""
    load = CCS1_PP_VEHICLE_OHMS if ohms is None else _parallel(CCS1_PP_VEHICLE_OHMS, ohms)
    return CCS1_PP_PULLUP_V * load / (load + CCS1_PP_PULLUP_OHMS)


def _ccs1_plug_ohms_at(volts: float) -> float:
    """Inverse of :func:`ccs1_pp_volts`: the plug resistance that reads ``volts``."""
    load = CCS1_PP_PULLUP_OHMS * volts / (CCS1_PP_PULLUP_V - volts)
    return 1.0 / (1.0 / load - 1.0 / CCS1_PP_VEHICLE_OHMS)


def _ccs1_window(state: PpState) -> tuple[float, float]:
    low, high = CCS1_PP_VOLT_WINDOWS[state]
    return (_ccs1_plug_ohms_at(low), _ccs1_plug_ohms_at(high))


# --- Proximity: CCS2 (IEC 62196 Type 2 coding, read PP-PE) ---------------------

CCS2_PP_DC_GUN_OHMS = 1500.0
"""PP-PE of the CCS2 DC gun as modelled here.

IEC 62196-3 leaves a DC gun's value to the maker and the bench-facts say to
measure the bench's own gun; 1.5 kOhm (the Type 2 "13 A" code, read as plugged by
any inlet) is the placeholder until then. Swap it with ``dataclasses.replace(CCS2,
pp_plugged_ohms=...)`` once measured.
"""
CCS2_PP_WINDOW_OHMS = (75.0, 2200.0)
"""IEC 61851-1 coding range: below 75 Ohm is an error, above 2.2 kOhm reads as no cable."""


# --- The two standards ---------------------------------------------------------


@dataclass(frozen=True)
class Standard:
    """The PP coding of one inlet type and which readings mean what."""

    name: Literal["CCS1", "CCS2"]
    pp_plugged_ohms: float
    pp_latch_pressed_ohms: float | None  # None: no latch switch in the PP circuit
    pp_plugged_window_ohms: tuple[float, float]
    pp_latch_pressed_window_ohms: tuple[float, float] | None
    pp_open_above_ohms: float  # above this the inlet sees no plug

    @property
    def has_latch_switch(self) -> bool:
        """CCS1 only: pressing the plug's button is visible on PP and must stop charging."""
        return self.pp_latch_pressed_ohms is not None

    def pp_ohms(self, plugged: bool, latch_pressed: bool = False) -> float | None:
        """PP-PE resistance the EV presents; None (open) when unplugged."""
        if not plugged:
            return None
        if latch_pressed and self.pp_latch_pressed_ohms is not None:
            return self.pp_latch_pressed_ohms
        return self.pp_plugged_ohms

    def pp_state(self, ohms: float | None) -> PpState:
        """Classify a PP resistance (None = open) the way an inlet would."""
        if ohms is None:
            return "unplugged"
        low, high = self.pp_plugged_window_ohms
        if low <= ohms <= high:
            return "plugged"
        window = self.pp_latch_pressed_window_ohms
        if window is not None and window[0] <= ohms <= window[1]:
            return "latch_pressed"
        if ohms > self.pp_open_above_ohms:
            return "unplugged"
        return "error"


CCS1 = Standard(
    name="CCS1",
    pp_plugged_ohms=CCS1_PP_LATCHED_OHMS,
    pp_latch_pressed_ohms=CCS1_PP_LATCHED_OHMS + CCS1_PP_BUTTON_OHMS,
    pp_plugged_window_ohms=_ccs1_window("plugged"),  # ~64-185 Ohm
    pp_latch_pressed_window_ohms=_ccs1_window("latch_pressed"),  # ~380-612 Ohm
    pp_open_above_ohms=_ccs1_plug_ohms_at(CCS1_PP_VOLT_WINDOWS["unplugged"][0]),  # ~4.8 kOhm
)

CCS2 = Standard(
    name="CCS2",
    pp_plugged_ohms=CCS2_PP_DC_GUN_OHMS,
    pp_latch_pressed_ohms=None,
    pp_plugged_window_ohms=CCS2_PP_WINDOW_OHMS,
    pp_latch_pressed_window_ohms=None,
    pp_open_above_ohms=CCS2_PP_WINDOW_OHMS[1],
)

STANDARDS: dict[str, Standard] = {"CCS1": CCS1, "CCS2": CCS2}


def standard_named(name: str) -> Standard:
    """``"CCS1"`` / ``"CCS2"`` (as in ``ConnectorHardware.standard``) to its data."""
    try:
        return STANDARDS[name]
    except KeyError:
        raise ValueError(
            f"unknown standard {name!r}; expected one of {sorted(STANDARDS)}"
        ) from None
