"""GpioEvBoard: the vehicle-side pilot board through gpiozero, on the Pi or on mock pins.

Relays are ``DigitalOutputDevice``s; the CP is read by an MCP3008 through the same level
shifter as the charger's front-end (``charger.hw.pilot.circuit``), high and low level as
the max and min of a burst of conversions; the PWM's duty and frequency come from the
tick stamps of the comparator's edges on ``pwm_in_pin`` (lgpio alerts on the Pi), the
last full period that is younger than ``STALE_S``, if the ADC's burst still sees the
line swing. A steady line has no edges: then the ADC's level alone says what the charger
does (+12 V: no PWM; -12 V: state F).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from gpiozero import MCP3008, DigitalInputDevice, DigitalOutputDevice

from bench.ev.board.config import EvBoardConfig
from bench.ev.board.interface import PilotSeen
from charger.hw.interfaces import HardwareError
from charger.hw.pilot import circuit
from charger.hw.pilot.circuit import EV_STATES, EvState
from charger.hw.pilot.driver import PI_BOARD, load_pin_factory

log = logging.getLogger(__name__)

SIM_BOARD = "bench-ev-wire"
STALE_S = 0.1  # edges older than this (100 periods at 1 kHz) do not describe the PWM now
EDGE_WAIT_S = 0.25  # how long a reading waits for a full period before calling it steady
MIN_SWING_V = 3.0  # a running PWM swings the CP by at least this much (E: no swing)
SAMPLES = 24  # ADC conversions per CP reading (spans a period at ~50 us per conversion)

#: which relays each CP state closes
NETWORK: dict[EvState, frozenset[str]] = {
    "unplugged": frozenset(),
    "B": frozenset({"b"}),
    "C": frozenset({"b", "c"}),
    "D": frozenset({"b", "d"}),
    "diode_fault": frozenset({"b", "diode_short"}),
    "E": frozenset({"cp_pe_short"}),
}


class _EdgeTimer(DigitalInputDevice):
    """The comparator input: keeps the tick stamp of each edge."""

    def __init__(self, pin: int, *, pin_factory: Any) -> None:
        self.edges: deque[tuple[float, bool]] = deque(maxlen=16)
        self.edge_lock = threading.Lock()
        super().__init__(pin, pin_factory=pin_factory)

    def _pin_changed(self, ticks: Any, state: Any) -> None:
        with self.edge_lock:
            self.edges.append((ticks, bool(state)))
        super()._pin_changed(ticks, state)


class GpioEvBoard:
    """:class:`bench.ev.board.interface.EvBoard` on gpiozero devices."""

    def __init__(self, cfg: EvBoardConfig, *, pin_factory: Any, owns_factory: bool = False):
        self.cfg = cfg
        self._factory = pin_factory
        self._owns_factory = owns_factory
        self._devices: list[Any] = []
        self._lock = threading.Lock()
        self._pp_ohms: float | None = None
        try:
            self._relays = {}
            for role, gpio in cfg.relays().items():
                relay = DigitalOutputDevice(
                    gpio,
                    active_high=cfg.relay_active_high,
                    initial_value=False,
                    pin_factory=pin_factory,
                )
                self._devices.append(relay)
                self._relays[role] = relay
            spi = {"port": cfg.spi_port, "device": cfg.spi_device, "pin_factory": pin_factory}
            self._cp = MCP3008(channel=cfg.cp_channel, **spi)
            self._devices.append(self._cp)
            self._pp = None
            if cfg.pp_channel is not None:
                self._pp = MCP3008(channel=cfg.pp_channel, **spi)
                self._devices.append(self._pp)
            self._edges = _EdgeTimer(cfg.pwm_in_pin, pin_factory=pin_factory)
            self._devices.append(self._edges)
        except Exception as exc:
            self.close()
            raise HardwareError(f"EV board {cfg.connector}: {exc}") from exc

    # -- the vehicle's side of the cable --------------------------------------------------

    def set_cp(self, state: EvState) -> None:
        if state not in NETWORK:
            raise ValueError(f"unknown EV state {state!r}; one of {EV_STATES}")
        closed = NETWORK[state]
        with self._lock:
            # Open first, then close: never two networks on the line at once.
            for role in ("b", "c", "d", "diode_short", "cp_pe_short"):
                if role not in closed:
                    self._relays[role].off()
            for role in ("diode_short", "b", "c", "d", "cp_pe_short"):
                if role in closed:
                    self._relays[role].on()

    def pp_choices(self) -> list[float]:
        return sorted(self.cfg.ohms(k) for k in self.cfg.pp_resistors)

    def set_pp(self, ohms: float | None) -> None:
        key = None
        if ohms is not None:
            key = next((k for k in self.cfg.pp_resistors if self.cfg.ohms(k) == ohms), None)
            if key is None:
                raise ValueError(
                    f"EV board {self.cfg.connector} has no {ohms:g} Ohm PP resistor "
                    f"(fitted: {', '.join(f'{o:g}' for o in self.pp_choices()) or 'none'})"
                )
        with self._lock:
            for k in self.cfg.pp_resistors:
                if k != key:
                    self._relays[f"PP {k}"].off()
            if key is not None:
                self._relays[f"PP {key}"].on()
            self._pp_ohms = ohms

    def press_latch(self, pressed: bool) -> None:
        relay = self._relays.get("latch")
        if relay is None:
            raise ValueError(f"EV board {self.cfg.connector} has no latch relay (CCS1 only)")
        with self._lock:
            relay.value = bool(pressed)

    # -- what the vehicle sees ----------------------------------------------------------

    @staticmethod
    def _volts(adc: MCP3008) -> float:
        return (adc.raw_value + 0.5) * circuit.ADC_VREF / 1024

    def _period(self) -> tuple[float, float] | None:
        """(duty, frequency) of the newest full period, None if there is none fresh."""
        factory = self._edges.pin_factory
        now = factory.ticks()
        with self._edges.edge_lock:
            edges = list(self._edges.edges)
        # newest rise -> fall -> rise triple, all fresh
        for i in range(len(edges) - 3, -1, -1):
            (t0, s0), (t1, s1), (t2, s2) = edges[i : i + 3]
            if not (s0 and not s1 and s2):
                continue
            if factory.ticks_diff(now, t0) > STALE_S:
                return None
            period = factory.ticks_diff(t2, t0)
            if period <= 0:
                return None
            return factory.ticks_diff(t1, t0) / period, 1.0 / period
        return None

    def pilot(self) -> PilotSeen:
        deadline = time.monotonic() + EDGE_WAIT_S
        timing = self._period()
        while timing is None and time.monotonic() < deadline:
            time.sleep(0.005)
            timing = self._period()
        with self._lock:
            levels = [circuit.adc_to_cp(self._volts(self._cp)) for _ in range(SAMPLES)]
        high, low = max(levels), min(levels)
        duty, freq = timing if timing is not None else (None, None)
        if high - low < MIN_SWING_V:  # one steady level now: the edges were from before
            duty, freq = None, None
        return PilotSeen(circuit.classify_cp(high), high, low, duty, freq)

    def pp_volts(self) -> float | None:
        if self._pp is None:
            return None
        with self._lock:
            return circuit.adc_to_pp(self._volts(self._pp))

    def close(self) -> None:
        for dev in reversed(self._devices):
            try:
                dev.close()
            except Exception:
                log.debug("EV board: closing %r failed", dev, exc_info=True)
        self._devices.clear()
        if self._owns_factory and self._factory is not None:
            factory, self._factory = self._factory, None
            factory.close()


def factory_name(cfg: EvBoardConfig) -> str:
    return cfg.pin_factory or (SIM_BOARD if cfg.backend == "sim" else PI_BOARD)


def board_where(cfg: EvBoardConfig) -> str:
    return (
        f"{factory_name(cfg)}: SPI{cfg.spi_port}.{cfg.spi_device} + "
        f"GPIO{cfg.pwm_in_pin} + {len(cfg.relays())} relays"
    )


def open_board(cfg: EvBoardConfig) -> GpioEvBoard:
    """The EV board for ``cfg``: the Pi's pins, or its twin on the simulated rig's wire."""
    options: dict[str, Any] = {}
    if cfg.backend == "sim":
        options = {"config": cfg}
    factory = load_pin_factory(factory_name(cfg), **options)
    return GpioEvBoard(cfg, pin_factory=factory, owns_factory=True)
