"""Agent-side simulated board: gpiozero MockFactory with a CP/PP "wire" behind it.

In simulation the agent still runs :class:`~charger.hw.pilot.driver.GpioPilot` and
gpiozero's own ``PWMOutputDevice`` and ``MCP3008`` classes. Only the pins are mock:

* the PWM pin is a :class:`WirePwmPin`, which writes its level into the wire file;
* the SPI slave is :class:`MockMcp3008`, a gpiozero ``MockSPIDevice`` that answers the
  MCP3008 bit protocol with voltages computed from the wire (EV network from the bench,
  PWM from the pin) through our front-end (``circuit``).

gpiozero 2.0.1's software SPI master cannot be used with a per-device pin factory:
``SPISoftwareBus.__init__`` calls ``Device.__init__()`` without the factory (loading the
global default one) and ``SharedMixin`` shares buses process-wide by pin name, so two
simulated pilots in one process would talk to one ADC. :class:`MockSPIMaster` is a
minimal per-factory replacement that bit-bangs the same mock pins, so the mock SPI
slave still sees real clock/select/MOSI edges.
"""

from __future__ import annotations

import threading
from typing import Any

from gpiozero.pins.data import SPI_HARDWARE_PINS
from gpiozero.pins.mock import MockFactory, MockPWMPin, MockSPIDevice

from bench.twins.wire import Wire
from charger.hw.pilot import circuit

# The emulated ADC advances the PWM phase by one conversion time per CP conversion
# rather than by wall time: bit-banged mock SPI is ~100x slower than the real chip, and
# a fixed step keeps readings deterministic. 50 us is an MCP3008 conversion at ~1 MHz
# SPI with overhead, so 20 conversions span one 1 kHz period and a 5 % pulse is seen.
CONVERSION_STEP = 0.05  # of a 1 kHz period


class WirePwmPin(MockPWMPin):
    """The CP oscillator's PWM pin; its level goes to the wire for the bench to see."""

    def __init__(self, factory: SimPinFactory, info: Any) -> None:
        super().__init__(factory, info)
        self._wire = factory.wire
        self._slot = factory.slot

    def _change_state(self, value: Any) -> bool:
        changed = super()._change_state(value)
        self.clear_states()  # MockPin keeps every change forever; we do not need history
        self._wire.set_duty(self._slot, float(self._state))
        return changed


class MockMcp3008(MockSPIDevice):
    """An MCP3008 whose CP and PP inputs are wired to the wire file through our front-end."""

    def __init__(
        self,
        wire: Wire,
        slot: int,
        cp_channel: int,
        pp_channel: int | None,
        *,
        spi_device: int = 0,
        pin_factory: MockFactory,
    ) -> None:
        hw = SPI_HARDWARE_PINS[0]
        super().__init__(
            hw["clock"], hw["mosi"], hw["miso"], hw["select"][spi_device], pin_factory=pin_factory
        )
        self.wire = wire
        self.slot = slot
        self.cp_channel = cp_channel
        self.pp_channel = pp_channel
        self._answered = False
        self._conversions = 0
        self.conversions_by_channel = [0] * 8

    def channel_volts(self, channel: int) -> float:
        """The analog voltage at an input pin right now."""
        if channel == self.cp_channel:
            state, _ = self.wire.ev(self.slot)
            level = self.wire.duty(self.slot)
            duty = None if level >= 1.0 else max(0.0, level)
            phase = (self._conversions * CONVERSION_STEP + CONVERSION_STEP / 2) % 1.0
            self._conversions += 1
            return circuit.cp_to_adc(circuit.cp_at_phase(duty, state, phase))
        if channel == self.pp_channel:
            _, pp_ohms = self.wire.ev(self.slot)
            return circuit.pp_to_adc(circuit.pp_volts(pp_ohms))
        return 0.0

    def convert(self, channel: int) -> int:
        volts = self.channel_volts(channel)
        self.conversions_by_channel[channel] += 1
        return max(0, min(1023, int(volts * 1024 / circuit.ADC_VREF)))

    def on_start(self) -> None:
        super().on_start()
        self._answered = False

    def on_bit(self) -> None:
        # MCP3008: start bit, SGL/DIFF, D2 D1 D0; then a sample clock, a null bit and
        # the 10 result bits MSB first.
        if self._answered:
            return
        bits = self.rx_buf
        try:
            start = bits.index(1)
        except ValueError:
            return
        if len(bits) - start - 1 < 4:
            return
        single, d2, d1, d0 = (int(b) for b in bits[start + 1 : start + 5])
        code = self.convert(d2 << 2 | d1 << 1 | d0) if single else 0
        self.tx_word(code, 12)
        self._answered = True


class MockSPIMaster:
    """SPI master over the factory's mock pins (see module docstring for why)."""

    def __init__(self, factory: MockFactory, clock: str, mosi: str, miso: str, select: str) -> None:
        self.bits_per_word = 8
        self.users = 0
        self._lock = threading.RLock()
        self.clock = factory.pin(clock)
        self.mosi = factory.pin(mosi)
        self.miso = factory.pin(miso)
        self.select = factory.pin(select)
        for pin in (self.clock, self.mosi, self.select):
            pin.function = "output"
        self.clock.state = False
        self.select.state = True  # chip select is active low
        self.miso.function = "input"

    def transfer(self, data: list[int]) -> list[int]:
        result = []
        with self._lock:
            self.select.state = False
            try:
                for word in data:
                    read = 0
                    for i in range(self.bits_per_word - 1, -1, -1):
                        self.mosi.state = bool(word >> i & 1)
                        self.clock.state = True  # slave samples MOSI and drives MISO
                        if self.miso.state:
                            read |= 1 << i
                        self.clock.state = False
                    result.append(read)
            finally:
                self.select.state = True
                for pin in (self.clock, self.mosi, self.miso, self.select):
                    pin.clear_states()
        return result

    def read(self, n: int) -> list[int]:
        return self.transfer([0] * n)

    def close(self) -> None:
        self.users -= 1

    def __repr__(self) -> str:
        return f"MockSPIMaster(select={self.select.info.name})"


class SpiMockFactory(MockFactory):
    """A MockFactory whose SPI buses are :class:`MockSPIMaster` s over its own mock pins,
    one per set of pins, shared by every device on them."""

    def __init__(self) -> None:
        super().__init__()
        self._spi: dict[tuple[Any, ...], MockSPIMaster] = {}

    def spi(self, **spi_args: Any) -> MockSPIMaster:
        args, _ = self._extract_spi_args(**spi_args)
        key = (args["clock_pin"], args["mosi_pin"], args["miso_pin"], args["select_pin"])
        master = self._spi.get(key)
        if master is None:
            master = self._spi[key] = MockSPIMaster(self, *key)
        master.users += 1
        return master


class SimPinFactory(SpiMockFactory):
    """A MockFactory for one simulated connector: PWM pin and MCP3008 on its wire slot."""

    def __init__(
        self,
        wire: Wire,
        slot: int,
        *,
        pwm_pin: int,
        cp_channel: int,
        pp_channel: int,
        spi_port: int = 0,
        spi_device: int = 0,
        owns_wire: bool = False,
    ) -> None:
        super().__init__()
        if spi_port != 0:
            raise ValueError("the simulated board has SPI port 0 only")
        self.wire = wire
        self.slot = slot
        self._owns_wire = owns_wire
        self._pwm_gpio = self.board_info.to_gpio(pwm_pin)
        self.adc = MockMcp3008(
            wire, slot, cp_channel, pp_channel, spi_device=spi_device, pin_factory=self
        )

    def pin(self, name: Any, pin_class: Any = None, **kwargs: Any) -> Any:
        if pin_class is None and self.board_info.to_gpio(name) == self._pwm_gpio:
            pin_class = WirePwmPin
        return super().pin(name, pin_class, **kwargs)

    def close(self) -> None:
        self.adc.close()
        super().close()
        if self._owns_wire:
            self.wire.close()


def open_board(*, wire_file: str, slot: int, **pins: Any) -> SimPinFactory:
    """Entry point ``bench-wire`` (group ``gpiozero_pin_factories``): the agent's board."""
    return SimPinFactory(Wire(wire_file), slot, owns_wire=True, **pins)
