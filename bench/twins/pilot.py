"""WireEv: the bench's end of the CP/PP wire (the EV's resistor network and the cable).

The physics sets what the EV presents; the agent's simulated ADC measures it, and the
agent's PWM pin level comes back through :meth:`WireEv.evse_duty`.
"""

from __future__ import annotations

import os

from bench.twins.wire import Wire
from charger.hw.pilot import circuit
from charger.hw.pilot.circuit import EvState


class WireEv:
    """EV side of every connector slot of one wire file (created if missing)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.wire = Wire(path)
        self.path = self.wire.path

    def set_ev(self, slot: int, state: EvState, pp_ohms: float | None) -> None:
        """EV network on the CP (``"unplugged"``, B, C, D, ``"diode_fault"``, E = CP
        shorted to PE) and the PP-PE resistance (None: no plug)."""
        self.wire.set_ev(slot, state, pp_ohms)

    def evse_duty(self, slot: int) -> float | None:
        """None: steady +12 V; 0.0: steady -12 V (state F); else the PWM duty.

        A closed (or never opened) agent pilot leaves its pin low: 0.0 after a close,
        None (the file's initial value) before the first agent ever ran.
        """
        level = self.wire.duty(slot)
        return None if level >= 1.0 else max(0.0, level)

    def cp_levels(self, slot: int) -> tuple[float, float]:
        """(high, low) CP voltages the EV sees now."""
        state, _ = self.wire.ev(slot)
        return circuit.cp_levels(self.evse_duty(slot), state)

    def close(self) -> None:
        self.wire.close()
