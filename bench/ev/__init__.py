"""The EV side of the bench: battery, CCS inlet coding, HLC session and DC power physics.

Everything here is sans-I/O: objects are fed events and ``now`` (seconds) by the
rig's loop and never read a clock, sleep or open a socket, so a scenario can run
an hour of charging in milliseconds and tests stay deterministic.
"""

from bench.ev.battery import Battery, Taper, ccs1_car, ccs2_car
from bench.ev.physics import ChargerLimits, DcOutput, EvElectrical, ModuleSetpoint, dc_output
from bench.ev.session import EvSession, HlcTimings
from bench.ev.standards import CCS1, CCS2, Standard, standard_named

__all__ = [
    "CCS1",
    "CCS2",
    "Battery",
    "ChargerLimits",
    "DcOutput",
    "EvElectrical",
    "EvSession",
    "HlcTimings",
    "ModuleSetpoint",
    "Standard",
    "Taper",
    "ccs1_car",
    "ccs2_car",
    "dc_output",
    "standard_named",
]
