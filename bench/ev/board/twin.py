"""The EV board's twin: gpiozero mock pins wired to the simulated rig's pilot wire.

The real :class:`~bench.ev.board.driver.GpioEvBoard` runs on it unchanged. The relay
pins are mock outputs: each change recomputes the network they put on the CP and PP
(the board's circuit, below) and writes it to the wire, where the charger's simulated
front-end measures it. The ADC is the same mock MCP3008 the charger's side uses
(``bench.twins.pilot_board``: the CP node is one wire). The comparator input gets the
edges of the charger's PWM as read from the wire, at its 1 kHz: a thread emits the
last few periods every ``BURST_S`` with the tick stamps a real comparator would have
produced, so duty and frequency do not depend on how busy the machine is.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from gpiozero.pins.mock import MockPin

from bench.ev.board.config import EvBoardConfig
from bench.twins.pilot_board import MockMcp3008, SpiMockFactory
from bench.twins.wire import Wire
from charger.hw.pilot import circuit
from charger.hw.pilot.circuit import EvState
from charger.hw.pilot.driver import PWM_FREQUENCY_HZ

BURST_S = 0.02
BURST_PERIODS = 3
LATCH_OHMS = 330.0  # CCS1: the switch across it opens while the latch button is pressed


def network(closed: set[str], pp: list[float], latch_pressed: bool) -> tuple[EvState, float | None]:
    """The board's circuit: which CP state and PP-PE resistance the closed relays make."""
    state: EvState
    if "cp_pe_short" in closed:
        state = "E"
    elif "b" not in closed:
        # The driver never closes C or D without B; the wire carries only the standard
        # networks, so C or D alone (1.3 kOhm / 270 Ohm without 2.74 kOhm) is not modelled.
        state = "unplugged"
    elif "diode_short" in closed:
        state = "diode_fault"
    elif "d" in closed:
        state = "D"
    elif "c" in closed:
        state = "C"
    else:
        state = "B"
    if not pp:
        return state, None
    ohms = 1.0 / sum(1.0 / r for r in pp)
    return state, ohms + (LATCH_OHMS if latch_pressed else 0.0)


class RelayPin(MockPin):
    """A relay's input: every change puts the board's new network on the wire."""

    def _change_state(self, value: Any) -> bool:
        changed = super()._change_state(value)
        self.clear_states()
        factory = self._factory
        if changed and isinstance(factory, EvWirePins):
            factory.sync()
        return changed


class ComparatorPin(MockPin):
    """The PWM comparator's output: edges stamped with when they happened on the wire."""

    def emit(self, state: bool, at: float) -> None:
        self._state = state
        self._last_change = at
        if self._when_changed is not None:
            self._call_when_changed()


class EvWirePins(SpiMockFactory):
    """A MockFactory for one EV board on one wire slot."""

    def __init__(self, cfg: EvBoardConfig, wire: Wire | None = None) -> None:
        super().__init__()
        if cfg.wire_file is None and wire is None:
            raise ValueError("the EV board's twin needs the rig's wire file")
        self.cfg = cfg
        self._owns_wire = wire is None
        self.wire = wire if wire is not None else Wire(str(cfg.wire_file))
        self.slot = cfg.slot
        self._roles = {self.board_info.to_gpio(g): role for role, g in cfg.relays().items()}
        self._pwm_in = self.board_info.to_gpio(cfg.pwm_in_pin)
        self._by_gpio: dict[int, Any] = {}
        self.adc = MockMcp3008(
            self.wire,
            self.slot,
            cfg.cp_channel,
            cfg.pp_channel,
            spi_device=cfg.spi_device,
            pin_factory=self,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._edges, name="ev-board-edges", daemon=True)
        self._thread.start()

    def pin(self, name: Any, pin_class: Any = None, **kwargs: Any) -> Any:
        gpio = self.board_info.to_gpio(name)
        if pin_class is None and gpio in self._roles:
            pin_class = RelayPin
        elif pin_class is None and gpio == self._pwm_in:
            pin_class = ComparatorPin
        pin = super().pin(name, pin_class, **kwargs)
        self._by_gpio[gpio] = pin
        return pin

    def closed(self) -> set[str]:
        """The relays that are energised now."""
        out = set()
        for gpio, role in self._roles.items():
            pin = self._by_gpio.get(gpio)
            if pin is not None and pin.function == "output":
                if bool(pin.state) == self.cfg.relay_active_high:
                    out.add(role)
        return out

    def sync(self) -> None:
        closed = self.closed()
        pp = [self.cfg.ohms(k) for k in self.cfg.pp_resistors if f"PP {k}" in closed]
        state, ohms = network(closed, pp, "latch" in closed)
        self.wire.set_ev(self.slot, state, ohms)

    def _edges(self) -> None:
        period = 1.0 / PWM_FREQUENCY_HZ
        while not self._stop.wait(BURST_S):
            level = self.wire.duty(self.slot)
            if not 0.0 < level < 1.0:
                continue
            high, low = circuit.cp_levels(level, self.wire.ev(self.slot)[0])
            if not high > 0.0 > low:  # CP shorted to PE: the comparator sees no edge
                continue
            pin = self._by_gpio.get(self._pwm_in)
            if not isinstance(pin, ComparatorPin) or pin.function != "input":
                continue
            now = self.ticks()
            start = period * math.floor(now / period) - BURST_PERIODS * period
            for k in range(BURST_PERIODS):
                t = start + k * period
                pin.emit(True, t)
                pin.emit(False, t + level * period)
            pin.emit(True, start + BURST_PERIODS * period)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self.adc.close()
        super().close()
        if self._owns_wire:
            self.wire.close()


def open_twin(*, config: EvBoardConfig) -> EvWirePins:
    """Entry point ``bench-ev-wire`` (group ``gpiozero_pin_factories``)."""
    return EvWirePins(config)
