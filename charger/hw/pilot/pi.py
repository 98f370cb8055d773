"""The Pi's gpiozero pin factory for the pilot: lgpio, with hardware PWM where the SoC has it.

gpiozero's ``lgpio`` factory times PWM in software, which jitters too much for a 1 kHz
control pilot whose 5 % pulse is 50 us long. The Pi 4 and Pi 5 route their PWM blocks
to GPIO12/13/18/19; with ``dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4`` in the
boot configuration (wiring/boot-config.txt) the kernel exposes them in sysfs and
``rpi-hardware-pwm`` drives them. :class:`PiPinFactory` hands out such a pin for those
GPIOs and lgpio pins for every other one, so ``PWMOutputDevice`` never knows which it
got. Registered as the ``charger-pi`` entry point of ``gpiozero_pin_factories``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gpiozero.exc import PinInvalidFunction
from gpiozero.pins.lgpio import LGPIOFactory
from gpiozero.pins.local import LocalPiPin

#: GPIO -> PWM channel; the same four header pins on the Pi 4 (BCM2711, channels 0/1)
#: and the Pi 5 (RP1, channels 0-3).
PWM_CHANNELS_PI4 = {12: 0, 13: 1, 18: 0, 19: 1}
PWM_CHANNELS_PI5 = {12: 0, 13: 1, 18: 2, 19: 3}
HARDWARE_PWM_GPIOS = frozenset(PWM_CHANNELS_PI4)
DEFAULT_FREQUENCY_HZ = 1000


def is_pi5() -> bool:
    try:
        return "Raspberry Pi 5" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


def pwm_chip(pi5: bool) -> int:
    """The sysfs pwmchip of the header's PWM: the one with 4 channels on a Pi 5."""
    if pi5:
        for chip in sorted(Path("/sys/class/pwm").glob("pwmchip*")):
            try:
                if (chip / "npwm").read_text().strip() == "4":
                    return int(chip.name.removeprefix("pwmchip"))
            except (OSError, ValueError):
                continue
    return 0


class HardwarePwmPin(LocalPiPin):
    """A header pin muxed to the SoC's PWM block; a steady level is 0 % or 100 % duty."""

    def __init__(self, factory: HardwarePwmPins, info: Any) -> None:
        super().__init__(factory, info)
        self._function = "input"
        self._frequency: float | None = None
        self._duty = 0.0
        self._pwm: Any = None

    def _driver(self) -> Any:
        if self._pwm is None:
            from rpi_hardware_pwm import HardwarePWM

            factory: PiPinFactory = self.factory
            self._pwm = HardwarePWM(
                pwm_channel=factory.channels[self._number],
                hz=self._frequency or DEFAULT_FREQUENCY_HZ,
                chip=factory.pwm_chip,
            )
            self._pwm.start(self._duty * 100)
        return self._pwm

    def close(self) -> None:
        pwm, self._pwm = self._pwm, None
        if pwm is not None:
            pwm.stop()

    def _get_function(self) -> str:
        return self._function

    def _set_function(self, value: str) -> None:
        if value not in ("input", "output"):
            raise PinInvalidFunction(f'invalid function "{value}" for pin {self!r}')
        self._function = value

    def _get_state(self) -> float:
        return self._duty

    def _set_state(self, value: float) -> None:
        self._duty = float(value)
        self._driver().change_duty_cycle(self._duty * 100)

    def _get_frequency(self) -> float | None:
        return self._frequency

    def _set_frequency(self, value: float | None) -> None:
        # None (PWM off) keeps the PWM block holding the last level as 0 or 100 % duty.
        # The block starts at the first level set, not here: no glitch to 0 % before it.
        self._frequency = value or None
        if value and self._pwm is not None:
            self._pwm.change_frequency(value)


class HardwarePwmPins:
    """Factory mix-in: GPIO12/13/18/19 are :class:`HardwarePwmPin`; ``channels`` maps
    them to PWM channels of sysfs ``pwmchip{pwm_chip}``."""

    channels: dict[int, int] = PWM_CHANNELS_PI4
    pwm_chip: int = 0
    board_info: Any
    pins: dict[Any, Any]

    def pin(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        for _header, info in self.board_info.find_pin(name):
            gpio = int(info.name.removeprefix("GPIO")) if info.name.startswith("GPIO") else -1
            if gpio in HARDWARE_PWM_GPIOS and info not in self.pins:
                self.pins[info] = HardwarePwmPin(self, info)
            break
        return super().pin(name, *args, **kwargs)  # type: ignore[misc]


class PiPinFactory(HardwarePwmPins, LGPIOFactory):
    """lgpio for every pin, the kernel's hardware PWM for GPIO12/13/18/19."""

    def __init__(self, chip: int | None = None, pwm_chip_number: int | None = None) -> None:
        super().__init__(chip)
        pi5 = is_pi5()
        self.channels = PWM_CHANNELS_PI5 if pi5 else PWM_CHANNELS_PI4
        self.pwm_chip = pwm_chip(pi5) if pwm_chip_number is None else pwm_chip_number


def open_factory(**options: Any) -> PiPinFactory:
    """Entry point ``charger-pi``; fails with the reason when lgpio or /dev/gpiochip is missing."""
    if not os.path.exists("/dev/gpiochip0"):
        raise FileNotFoundError("no /dev/gpiochip0: not a Raspberry Pi (or no GPIO access)")
    return PiPinFactory(**options)
