"""The Raspberry Pi 4/5 40-pin header, and which part of a rig uses which pin.

The rig file names BCM GPIOs, SPI ports/chip selects and serial devices; this module
turns that into header pins and refuses a rig that cannot be wired: a pin used twice
(the pin is named, with both users), a control pilot on a pin without hardware PWM,
two pilots on one PWM channel, or a part on pins that a bus it needs has taken (SPI,
the UART on GPIO14/15, the MCP2515's interrupt). Meters on one RS-485 line are one
part. Only parts on the header are placed: a USB adapter, a TCP meter or a simulated
pilot takes no pin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from charger.hw.config import HardwareConfig

#: physical pin -> BCM GPIO (None: power or ground), identical on the Pi 4 and Pi 5.
HEADER: dict[int, int | None] = {
    1: None, 2: None, 3: 2, 4: None, 5: 3, 6: None, 7: 4, 8: 14, 9: None, 10: 15,
    11: 17, 12: 18, 13: 27, 14: None, 15: 22, 16: 23, 17: None, 18: 24, 19: 10, 20: None,
    21: 9, 22: 25, 23: 11, 24: 8, 25: None, 26: 7, 27: 0, 28: 1, 29: 5, 30: None,
    31: 6, 32: 12, 33: 13, 34: None, 35: 19, 36: 16, 37: 26, 38: 20, 39: None, 40: 21,
}  # fmt: skip
POWER_PINS: dict[int, str] = {
    1: "3V3", 17: "3V3", 2: "5V", 4: "5V",
    6: "GND", 9: "GND", 14: "GND", 20: "GND", 25: "GND", 30: "GND", 34: "GND", 39: "GND",
}  # fmt: skip
PHYSICAL: dict[int, int] = {gpio: pin for pin, gpio in HEADER.items() if gpio is not None}

#: GPIO -> PWM channel on the Pi 4 (BCM2711: GPIO12/18 share channel 0, 13/19 channel 1).
PWM_CHANNEL_PI4 = {12: 0, 18: 0, 13: 1, 19: 1}
PWM_GPIOS = frozenset(PWM_CHANNEL_PI4)
SPI_BUSES = {  # port -> (SCLK, MOSI, MISO, chip selects)
    0: (11, 10, 9, (8, 7)),
    1: (21, 20, 19, (18, 17, 16)),
}
UART_GPIOS = (14, 15)  # TXD, RXD
HEADER_UARTS = ("/dev/ttyAMA0", "/dev/serial0", "/dev/ttyS0")
HAT_ID_GPIOS = (0, 1)  # ID EEPROM of a HAT: never for parts


class WiringError(ValueError):
    """A rig file that cannot be wired on the header; the message names the pin."""


@dataclass(frozen=True)
class Use:
    """One GPIO used by one part for one function."""

    gpio: int
    function: str  # "CP PWM", "SPI0 SCLK", "UART TXD", "CAN INT", ...
    part: str  # "pilot 1", "pilot ADC on SPI0 CE1", "MCP2515 CAN HAT", "rfid"
    shared: str = ""  # uses with equal non-empty keys may share the pin (one bus)

    @property
    def pin(self) -> int:
        return PHYSICAL[self.gpio]

    def label(self) -> str:
        return f"GPIO{self.gpio} (pin {self.pin})"


def _spi(port: int, device: int, part: str) -> list[Use]:
    if port not in SPI_BUSES:
        raise WiringError(f"{part}: SPI{port} does not exist on the header (0 or 1)")
    sclk, mosi, miso, selects = SPI_BUSES[port]
    if not 0 <= device < len(selects):
        raise WiringError(f"{part}: SPI{port} has chip selects 0..{len(selects) - 1}")
    bus = f"spi{port}"
    return [
        Use(sclk, f"SPI{port} SCLK", part, bus),
        Use(mosi, f"SPI{port} MOSI", part, bus),
        Use(miso, f"SPI{port} MISO", part, bus),
        Use(selects[device], f"SPI{port} CE{device}", part, f"spi{port}.{device}:{part}"),
    ]


def spi_uses(port: int, device: int, part: str) -> list[Use]:
    """The pins of an SPI slave: the bus's (shared) and its chip select (``part``'s)."""
    return _spi(port, device, part)


def uses(cfg: HardwareConfig, extra: Sequence[Use] = ()) -> list[Use]:
    """Every header pin the rig's parts use (before checking them).

    ``extra``: pins of parts the firmware does not drive (the bench's EV boards), so
    one check covers the whole header.
    """
    out: list[Use] = []
    for c in cfg.connectors:
        p = c.pilot
        if p.backend != "gpio":
            continue
        out.append(Use(p.pwm_pin, "CP PWM", f"pilot {c.id}"))
        # Pilots on one chip select share one MCP3008 (different channels).
        out += _spi(p.spi_port, p.spi_device, f"pilot ADC on SPI{p.spi_port} CE{p.spi_device}")
    can = cfg.can
    if can.interface == "socketcan" and can.oscillator_hz is not None:
        out += _spi(0, 0, "MCP2515 CAN HAT")
        out.append(Use(can.interrupt_pin, "CAN INT", "MCP2515 CAN HAT"))
    serial_users: list[tuple[str, str]] = [(cfg.rfid.device, "rfid")]
    serial_users += [
        (c.meter.device or "", f"RS-485 line {c.meter.line()}")
        for c in cfg.connectors
        if c.meter.transport == "rtu"
    ]
    for device, part in serial_users:
        if device in HEADER_UARTS:
            out.append(Use(UART_GPIOS[0], "UART TXD", part, f"uart:{part}"))
            out.append(Use(UART_GPIOS[1], "UART RXD", part, f"uart:{part}"))
    return out + list(extra)


def check(cfg: HardwareConfig, extra: Sequence[Use] = ()) -> list[Use]:
    """The rig's pin uses, or :class:`WiringError` naming the first pin that cannot work."""
    all_uses = uses(cfg, extra)
    for use in all_uses:
        if use.gpio not in PHYSICAL:
            raise WiringError(f"{use.part}: GPIO{use.gpio} is not on the 40-pin header")
        if use.gpio in HAT_ID_GPIOS:
            raise WiringError(
                f"{use.label()} is the HAT ID EEPROM's ({use.part}, {use.function}): use another"
            )
    by_gpio: dict[int, list[Use]] = {}
    for use in all_uses:
        by_gpio.setdefault(use.gpio, []).append(use)
    for users in by_gpio.values():
        first = users[0]
        second = next((u for u in users[1:] if not u.shared or u.shared != first.shared), None)
        if second is not None:
            raise WiringError(
                f"{first.label()} is used twice: {first.function} of {first.part} and "
                f"{second.function} of {second.part}"
            )
    pwm = [u for u in all_uses if u.function == "CP PWM"]
    for use in pwm:
        if use.gpio not in PWM_GPIOS:
            raise WiringError(
                f"{use.label()} has no hardware PWM ({use.part}'s CP): use GPIO12, 13, 18 or 19"
            )
    channels: dict[int, Use] = {}
    for use in pwm:
        other = channels.setdefault(PWM_CHANNEL_PI4[use.gpio], use)
        if other is not use:
            raise WiringError(
                f"{use.label()} and {other.label()} share PWM channel "
                f"{PWM_CHANNEL_PI4[use.gpio]} on a Pi 4 ({other.part}, {use.part}): "
                "use GPIO12 with 13 (or 18 with 19)"
            )
    return all_uses


def boot_config(cfg: HardwareConfig, extra: Sequence[Use] = ()) -> list[str]:
    """The lines the rig needs in /boot/firmware/config.txt (see wiring/boot-config.txt)."""
    all_uses = uses(cfg, extra)
    functions = {u.function for u in all_uses}
    lines: list[str] = []
    if any(f.startswith("SPI0") for f in functions):
        lines.append("dtparam=spi=on")
    if any(f.startswith("SPI1") for f in functions):
        lines.append("dtoverlay=spi1-3cs")
    can = cfg.can
    if can.interface == "socketcan" and can.oscillator_hz is not None:
        lines.append(
            f"dtoverlay=mcp2515-can0,oscillator={can.oscillator_hz},interrupt={can.interrupt_pin}"
        )
    pwm = sorted(u.gpio for u in all_uses if u.function == "CP PWM")
    if pwm:
        func = {12: 4, 13: 4, 18: 2, 19: 2}  # ALT0 on 12/13, ALT5 on 18/19
        pins = ",".join(
            f"{'pin' if i == 0 else 'pin2'}={g},{'func' if i == 0 else 'func2'}={func[g]}"
            for i, g in enumerate(pwm[:2])
        )
        lines.append(f"dtoverlay=pwm-2chan,{pins}")
    if "UART TXD" in functions:
        lines += ["enable_uart=1", "dtoverlay=disable-bt  # Pi 4: the PL011 UART on GPIO14/15"]
    return lines
