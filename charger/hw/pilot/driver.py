"""GpioPilot: the CP oscillator and CP/PP measurement through gpiozero.

Hardware: ``pwm_pin`` drives the +/-12 V CP oscillator (pin high = +12 V, low = -12 V,
1 kHz PWM between), an MCP3008 on SPI reads CP (through the level shifter) and PP
(through the PP front-end); see ``circuit`` for the networks. The same class runs on
the Pi (default gpiozero pin factory) and in simulation (the bench's simulated board,
found by name in gpiozero's pin-factory entry points); the pin factory is chosen per
device, never by mutating ``Device.pin_factory``.

The CP high and low levels are the max and min of a burst of conversions spanning
more than one PWM period. On the Pi that needs ~50 us per conversion (hardware SPI via
spidev at >= 1 MHz) to catch a 5 % pulse; raise ``samples`` if the rig's SPI is slower.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from gpiozero import MCP3008, PWMOutputDevice

from charger.hw.config import PilotConfig
from charger.hw.interfaces import CpReading, HardwareError, PpReading
from charger.hw.pilot import circuit

log = logging.getLogger(__name__)

PWM_FREQUENCY_HZ = 1000


class GpioPilot:
    """:class:`charger.hw.interfaces.Pilot` on a PWM pin and two MCP3008 channels."""

    def __init__(
        self,
        *,
        pwm_pin: int,
        cp_channel: int,
        pp_channel: int,
        standard: Literal["CCS1", "CCS2"],
        spi_port: int = 0,
        spi_device: int = 0,
        pin_factory: Any = None,
        owns_factory: bool = False,
        samples: int = 24,
    ) -> None:
        self.standard = standard
        self.samples = samples
        self._duty: float | None = None
        self._lock = threading.Lock()
        self._factory = pin_factory
        self._owns_factory = owns_factory
        self._devices: list[Any] = []
        try:
            # initial_value=1: steady +12 V (state A) from power-up.
            self._pwm = PWMOutputDevice(
                pwm_pin, frequency=PWM_FREQUENCY_HZ, initial_value=1.0, pin_factory=pin_factory
            )
            self._devices.append(self._pwm)
            spi = {"port": spi_port, "device": spi_device, "pin_factory": pin_factory}
            self._cp = MCP3008(channel=cp_channel, **spi)
            self._devices.append(self._cp)
            self._pp = MCP3008(channel=pp_channel, **spi)
            self._devices.append(self._pp)
        except Exception as exc:
            self.close()
            raise HardwareError(
                f"pilot on GPIO{pwm_pin}/SPI{spi_port}.{spi_device}: {exc}"
            ) from exc

    def set_duty(self, duty: float | None) -> None:
        """None: steady +12 V (no PWM); 0.05: digital communication; 0.0: -12 V (state F)."""
        if duty is not None and not 0.0 <= duty <= 1.0:
            raise ValueError(f"duty {duty} outside 0..1")
        with self._lock:
            self._duty = duty
            self._pwm.value = 1.0 if duty is None else duty

    @staticmethod
    def _volts(adc: MCP3008) -> float:
        # Mid-point of the code's step: code = floor(1024 * v / vref).
        return (adc.raw_value + 0.5) * circuit.ADC_VREF / 1024

    def cp(self) -> CpReading:
        with self._lock:
            duty = self._duty
            levels = [circuit.adc_to_cp(self._volts(self._cp)) for _ in range(self.samples)]
        return circuit.cp_reading(max(levels), min(levels), duty)

    def pp(self) -> PpReading:
        with self._lock:
            volts = circuit.adc_to_pp(self._volts(self._pp))
        return circuit.classify_pp(volts, self.standard)

    def close(self) -> None:
        for dev in reversed(self._devices):
            try:
                dev.close()
            except Exception:
                log.debug("pilot: closing %r failed", dev, exc_info=True)
        self._devices.clear()
        if self._owns_factory and self._factory is not None:
            factory, self._factory = self._factory, None
            factory.close()


#: gpiozero's entry-point group for pin factories; the bench registers its simulated
#: board there (``bench-wire``), so the firmware names it without importing the bench.
PIN_FACTORY_GROUP = "gpiozero_pin_factories"
SIM_BOARD = "bench-wire"


def load_pin_factory(name: str, **options: Any) -> Any:
    """The gpiozero pin factory registered as ``name``, built with ``options``."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=PIN_FACTORY_GROUP):
        if ep.name == name:
            return ep.load()(**options)
    raise HardwareError(f"no gpiozero pin factory named {name!r} is installed")


def open_pilot(cfg: PilotConfig, standard: Literal["CCS1", "CCS2"]) -> GpioPilot:
    """The pilot for ``cfg``: the Pi's pins, or the bench's simulated board (wire file)."""
    factory = None
    if cfg.backend == "sim":
        factory = load_pin_factory(
            SIM_BOARD,
            wire_file=cfg.wire_file,
            slot=cfg.slot,
            pwm_pin=cfg.pwm_pin,
            cp_channel=cfg.cp_channel,
            pp_channel=cfg.pp_channel,
            spi_port=cfg.spi_port,
            spi_device=cfg.spi_device,
        )
    return GpioPilot(
        pwm_pin=cfg.pwm_pin,
        cp_channel=cfg.cp_channel,
        pp_channel=cfg.pp_channel,
        standard=standard,
        spi_port=cfg.spi_port,
        spi_device=cfg.spi_device,
        pin_factory=factory,
        owns_factory=factory is not None,
    )
