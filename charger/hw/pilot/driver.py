"""GpioPilot: the CP oscillator and CP/PP measurement through gpiozero.

Hardware: ``pwm_pin`` drives the +/-12 V CP oscillator (pin high = +12 V, low = -12 V,
1 kHz PWM between), an MCP3008 on SPI reads CP (through the level shifter) and PP
(through the PP front-end); see ``circuit`` for the networks. The same class runs on
the Pi (``charger-pi``: lgpio with hardware PWM, see ``pi``) and in simulation (the
bench's simulated board ``bench-wire``); the factory is named in the rig file or chosen
by backend, loaded through gpiozero's pin-factory entry points, and passed per device,
never by mutating ``Device.pin_factory`` or trusting gpiozero's fallback order.

The CP high and low levels are the max and min of a burst of conversions spanning
more than one PWM period. On the Pi that needs ~50 us per conversion (hardware SPI via
spidev at >= 1 MHz) to catch a 5 % pulse; raise ``samples`` if the rig's SPI is slower.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from gpiozero import MCP3008, PWMOutputDevice

from charger.hw.config import PilotConfig
from charger.hw.health import HealthBoard
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
            # Without PWM the line is one steady level: one conversion reads it. A burst
            # spanning a period is needed only to catch both levels of a running PWM.
            count = self.samples if circuit.pwm_running(duty) else 1
            levels = [circuit.adc_to_cp(self._volts(self._cp)) for _ in range(count)]
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
PI_BOARD = "charger-pi"  # lgpio + the kernel's hardware PWM (charger.hw.pilot.pi)
RETRY_S = 2.0


def load_pin_factory(name: str, **options: Any) -> Any:
    """The gpiozero pin factory registered as ``name``, built with ``options``."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=PIN_FACTORY_GROUP):
        if ep.name == name:
            try:
                return ep.load()(**options)
            except Exception as exc:  # ImportError (no lgpio), OSError (no gpiochip), ...
                raise HardwareError(f"gpiozero pin factory {name!r} cannot load: {exc}") from exc
    raise HardwareError(f"no gpiozero pin factory named {name!r} is installed")


def factory_name(cfg: PilotConfig) -> str:
    """The pin factory a pilot runs on: explicit in the rig file, else by backend."""
    return cfg.pin_factory or (SIM_BOARD if cfg.backend == "sim" else PI_BOARD)


def open_pilot(cfg: PilotConfig, standard: Literal["CCS1", "CCS2"]) -> GpioPilot:
    """The pilot for ``cfg``: the Pi's pins, or the bench's simulated board (wire file)."""
    name = factory_name(cfg)
    options: dict[str, Any] = {}
    if cfg.backend == "sim":
        options = {
            "wire_file": cfg.wire_file,
            "slot": cfg.slot,
            "pwm_pin": cfg.pwm_pin,
            "cp_channel": cfg.cp_channel,
            "pp_channel": cfg.pp_channel,
            "spi_port": cfg.spi_port,
            "spi_device": cfg.spi_device,
        }
    factory = load_pin_factory(name, **options)
    return GpioPilot(
        pwm_pin=cfg.pwm_pin,
        cp_channel=cfg.cp_channel,
        pp_channel=cfg.pp_channel,
        standard=standard,
        spi_port=cfg.spi_port,
        spi_device=cfg.spi_device,
        pin_factory=factory,
        owns_factory=True,
    )


def pilot_where(cfg: PilotConfig) -> str:
    return f"{factory_name(cfg)}: GPIO{cfg.pwm_pin} + SPI{cfg.spi_port}.{cfg.spi_device}"


class LazyPilot:
    """A pilot opened on first use and again after a failure (at most every ``RETRY_S``).

    A missing pin factory, SPI device or GPIO permission is reported to the health board
    and raised as :class:`HardwareError` from every call, so the agent faults this one
    connector instead of exiting; when the part can be opened again it is picked up and
    given the duty last asked for.
    """

    def __init__(
        self,
        cfg: PilotConfig,
        standard: Literal["CCS1", "CCS2"],
        connector: int,
        health: HealthBoard,
    ) -> None:
        self.cfg = cfg
        self.standard = standard
        self.part = f"pilot {connector}"
        self.where = pilot_where(cfg)
        self.connector = connector
        self.health = health
        self._pilot: GpioPilot | None = None
        self._duty: float | None = None
        self._next_try = 0.0
        self._error: HardwareError | None = None
        self._lock = threading.Lock()

    def _get(self) -> GpioPilot:
        with self._lock:
            if self._pilot is not None:
                return self._pilot
            now = time.monotonic()
            if now < self._next_try and self._error is not None:
                raise self._error
            self._next_try = now + RETRY_S
            try:
                pilot = open_pilot(self.cfg, self.standard)
                pilot.set_duty(self._duty)
            except HardwareError as exc:
                status = self.health.failed(
                    self.part,
                    self.where,
                    "gpio",
                    exc,
                    error_code="InternalError",
                    connectors=(self.connector,),
                )
                self._error = HardwareError(f"{self.part}: {status.problem}")
                raise self._error from exc
            self._pilot, self._error = pilot, None
            self.health.ok(self.part, self.where, (self.connector,))
            return pilot

    def open(self) -> None:
        """Try to open now; a failure is only reported."""
        try:
            self._get()
        except HardwareError:
            pass

    def set_duty(self, duty: float | None) -> None:
        self._duty = duty
        self._get().set_duty(duty)

    def cp(self) -> CpReading:
        return self._get().cp()

    def pp(self) -> PpReading:
        return self._get().pp()

    def close(self) -> None:
        with self._lock:
            pilot, self._pilot = self._pilot, None
        if pilot is not None:
            pilot.close()
