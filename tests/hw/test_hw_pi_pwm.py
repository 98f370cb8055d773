"""The Pi's pin factory gives the CP pins the kernel's hardware PWM: gpiozero's
``PWMOutputDevice`` on a ``HardwarePwmPin`` drives ``rpi-hardware-pwm`` (recorded here;
the sysfs side is the copper test in test_hw_socketcan.py)."""

import pytest
import rpi_hardware_pwm
from gpiozero import PWMOutputDevice
from gpiozero.pins.mock import MockFactory

# lgpio comes from PyPI on x86_64 (CI) and from Raspberry Pi OS on a Pi.
pytest.importorskip("lgpio", reason="lgpio is not installed (on a Pi: apt install python3-lgpio)")
from charger.hw.pilot import pi  # noqa: E402


class RecordedPwm:
    calls: list = []

    def __init__(self, pwm_channel, hz, chip=0):
        self.calls.append(("open", pwm_channel, hz, chip))

    def start(self, duty):
        self.calls.append(("start", duty))

    def change_duty_cycle(self, duty):
        self.calls.append(("duty", duty))

    def change_frequency(self, hz):
        self.calls.append(("frequency", hz))

    def stop(self):
        self.calls.append(("stop",))


class Board(pi.HardwarePwmPins, MockFactory):
    """Mock pins everywhere except the PWM pins, as PiPinFactory does with lgpio."""


@pytest.fixture
def pwm(monkeypatch):
    RecordedPwm.calls = []
    monkeypatch.setattr(rpi_hardware_pwm, "HardwarePWM", RecordedPwm)
    return RecordedPwm.calls


def test_cp_pin_starts_high_and_follows_the_duty(pwm):
    board = Board()
    device = PWMOutputDevice(13, frequency=1000, initial_value=1.0, pin_factory=board)
    assert isinstance(device.pin, pi.HardwarePwmPin)
    device.value = 0.05
    device.close()
    # channel 1 of pwmchip0 at 1 kHz, started at 100 % (+12 V): never a 0 % glitch first
    assert pwm == [
        ("open", 1, 1000, 0),
        ("start", 100.0),
        ("duty", 100.0),
        ("duty", 5.0),
        ("stop",),
    ]


def test_only_the_hardware_pwm_gpios_get_it(pwm):
    board = Board()
    assert not isinstance(board.pin(17), pi.HardwarePwmPin)
    assert {g: isinstance(board.pin(g), pi.HardwarePwmPin) for g in (12, 13, 18, 19)} == {
        12: True,
        13: True,
        18: True,
        19: True,
    }


def test_pi5_channels_differ_on_18_and_19():
    assert pi.PWM_CHANNELS_PI5[18] == 2 and pi.PWM_CHANNELS_PI4[18] == 0
