"""The EV boards' header pins, for the charger's one header check and drawing.

Relays and the comparator input are plain GPIOs of ``EV board N``; the ADC is an
MCP3008 on SPI0, named like the charger-side pilots' chip so that a board may share it
(its channels must then be free: checked here, since the header knows only pins).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.ev.board.config import EvBoardConfig
from charger.hw.config import HardwareConfig
from charger.hw.header import Use, WiringError, spi_uses

#: short pin-map labels (the map's function column is 10 wide)
LABEL = {"b": "B", "c": "C", "d": "D", "diode_short": "diode", "cp_pe_short": "CP-PE"}


def adc_part(port: int, device: int) -> str:
    return f"pilot ADC on SPI{port} CE{device}"  # the name charger.hw.header gives the chip


def uses(boards: Sequence[EvBoardConfig]) -> list[Use]:
    out: list[Use] = []
    for b in boards:
        part = f"EV board {b.connector}"
        for role, gpio in b.relays().items():
            out.append(Use(gpio, f"EV {LABEL.get(role, role)}", part))
        out.append(Use(b.pwm_in_pin, "EV PWM in", part))
        out += spi_uses(b.spi_port, b.spi_device, adc_part(b.spi_port, b.spi_device))
    return out


def check_channels(boards: Sequence[EvBoardConfig], hardware: HardwareConfig | None) -> None:
    """No ADC channel read by two inputs (charger pilots and EV boards on one chip)."""
    taken: dict[tuple[int, int, int], str] = {}

    def take(port: int, device: int, channel: int, who: str) -> None:
        other = taken.setdefault((port, device, channel), who)
        if other != who:
            raise WiringError(
                f"MCP3008 on SPI{port} CE{device} channel {channel} is read twice: "
                f"{other} and {who}"
            )

    for c in hardware.connectors if hardware else ():
        p = c.pilot
        if p.backend == "gpio":
            take(p.spi_port, p.spi_device, p.cp_channel, f"CP {c.id}")
            take(p.spi_port, p.spi_device, p.pp_channel, f"PP {c.id}")
    seen: set[int] = set()
    for b in boards:
        if b.connector in seen:
            raise WiringError(f"two EV boards for connector {b.connector}")
        seen.add(b.connector)
        if b.backend != "gpio":
            continue
        take(b.spi_port, b.spi_device, b.cp_channel, f"EV board {b.connector} CP")
        if b.pp_channel is not None:
            take(b.spi_port, b.spi_device, b.pp_channel, f"EV board {b.connector} PP")
