"""Wiring as code: a rig file's pin map and its SVG wiring diagram.

Both come from ``charger.hw.header`` (which pin each part uses, already checked when
the rig file was loaded), so the drawing cannot disagree with what the agent opens.
The diagram shows the 40-pin header (pin 1 top left, odd pins on the left), every
used pin coloured by its part, a box per part on the header (pilot front ends, their
MCP3008, the MCP2515 HAT, the UART's user) with its wires, and the parts off the
header (USB RS-485 adapters with their meters, TCP meters, a USB RFID reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from bench.ev.board import pins as ev_pins
from bench.ev.board.config import EvBoardConfig
from charger.hw.config import HardwareConfig
from charger.hw.header import HEADER, POWER_PINS, Use, boot_config, check

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def off_header(cfg: HardwareConfig) -> list[str]:
    """Parts reached by USB or the network: no header pin."""
    out: list[str] = []
    lines: dict[str, list[str]] = {}
    for c in cfg.connectors:
        m = c.meter
        lines.setdefault(m.line(), []).append(f"connector {c.id}: {m.model} unit {m.unit}")
    for line, meters in lines.items():
        kind = "RS-485 line" if line.startswith("rtu:") else "Modbus TCP"
        if line.removeprefix("rtu:") in ("/dev/ttyAMA0", "/dev/serial0", "/dev/ttyS0"):
            continue
        out.append(f"{kind} {line.split(':', 1)[1]}: " + "; ".join(meters))
    if cfg.rfid.device not in ("/dev/ttyAMA0", "/dev/serial0", "/dev/ttyS0"):
        out.append(f"RFID reader {cfg.rfid.model} on {cfg.rfid.device} ({cfg.rfid.baudrate} baud)")
    if cfg.can.interface != "socketcan" or cfg.can.oscillator_hz is None:
        out.append(f"CAN {cfg.can.interface}:{cfg.can.channel} at {cfg.can.bitrate} bit/s")
    return out


def pin_map(cfg: HardwareConfig, ev: Sequence[EvBoardConfig] = ()) -> str:
    """The used header pins, the parts off the header and the boot configuration."""
    extra = ev_pins.uses(ev)
    used = sorted(check(cfg, extra), key=lambda u: (u.pin, u.part))
    rows = [f"{'pin':>3}  {'GPIO':6}  {'function':10}  part"]
    seen: set[tuple[int, str]] = set()
    for u in used:
        if (u.pin, u.part) in seen:
            continue
        seen.add((u.pin, u.part))
        rows.append(f"{u.pin:>3}  GPIO{u.gpio:<2}  {u.function:10}  {u.part}")
    if len(rows) == 1:
        rows.append("  (no part on the header)")
    outside = off_header(cfg)
    if outside:
        rows += ["", "off the header:"] + [f"  {line}" for line in outside]
    boot = boot_config(cfg, extra)
    if boot:
        rows += ["", "boot configuration (/boot/firmware/config.txt):"] + [f"  {b}" for b in boot]
    return "\n".join(rows)


def _parts(used: list[Use]) -> list[str]:
    parts: list[str] = []
    for u in used:
        if u.part not in parts:
            parts.append(u.part)
    return parts


def svg(cfg: HardwareConfig, title: str = "rig", ev: Sequence[EvBoardConfig] = ()) -> str:
    """The wiring diagram as an SVG document."""
    ev_uses = ev_pins.uses(ev)
    used = check(cfg, ev_uses)
    parts = _parts(used)
    colour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(parts)}
    by_pin: dict[int, list[Use]] = {}
    for u in used:
        by_pin.setdefault(u.pin, []).append(u)
    pitch, top, left_x, right_x = 22, 60, 470, 492
    extra = off_header(cfg)
    boot = boot_config(cfg, ev_uses)
    height = max(top + 20 * pitch, top + ((len(parts) + 1) // 2) * 110) + 40
    height += 18 * (len(extra) + len(boot) + 3)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="{height}" '
        'font-family="monospace" font-size="11">',
        f'<text x="20" y="24" font-size="15" font-weight="bold">{escape(title)}: '
        "Raspberry Pi 4/5 header (BCM numbering)</text>",
        f'<rect x="{left_x - 14}" y="{top - 14}" width="{right_x - left_x + 28}" '
        f'height="{20 * pitch + 6}" fill="#222" rx="4"/>',
    ]
    box_y: dict[str, float] = {}
    for i, part in enumerate(parts):  # part boxes, alternating sides
        x = 20 if i % 2 == 0 else 760
        y = top + (i // 2) * 110
        box_y[part] = y + 20
        out.append(
            f'<rect x="{x}" y="{y}" width="200" height="40" fill="white" '
            f'stroke="{colour[part]}" stroke-width="2" rx="6"/>'
            f'<text x="{x + 8}" y="{y + 24}" fill="{colour[part]}">{escape(part)}</text>'
        )
    for pin, gpio in HEADER.items():
        row, odd = (pin - 1) // 2, pin % 2 == 1
        x = left_x if odd else right_x
        y = top + row * pitch
        users = by_pin.get(pin, [])
        fill = colour[users[0].part] if users else ("#c00" if pin in (2, 4) else "#999")
        name = POWER_PINS.get(pin) or f"GPIO{gpio}"
        out.append(f'<circle cx="{x}" cy="{y}" r="7" fill="{fill}" stroke="white"/>')
        label_x, anchor = (x - 14, "end") if odd else (x + 14, "start")
        label = f"{pin} {name}" if odd else f"{name} {pin}"
        if users:
            label = f"{users[0].function} · {label}" if odd else f"{label} · {users[0].function}"
        out.append(
            f'<text x="{label_x}" y="{y + 4}" text-anchor="{anchor}" '
            f'fill="{"black" if users else "#777"}">{escape(label)}</text>'
        )
        for u in users:
            bx = 220 if parts.index(u.part) % 2 == 0 else 760
            out.append(
                f'<path d="M{x} {y} C{(x + bx) / 2} {y}, {(x + bx) / 2} {box_y[u.part]}, '
                f'{bx} {box_y[u.part]}" fill="none" stroke="{colour[u.part]}" '
                'stroke-width="1.5" opacity="0.7"/>'
            )
    y = max(top + 20 * pitch, top + ((len(parts) + 1) // 2) * 110) + 30
    for heading, lines in (("off the header", extra), ("boot configuration", boot)):
        if not lines:
            continue
        out.append(f'<text x="20" y="{y}" font-weight="bold">{heading}</text>')
        y += 18
        for line in lines:
            out.append(f'<text x="30" y="{y}">{escape(line)}</text>')
            y += 18
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_svg(
    cfg: HardwareConfig, path: Path, title: str = "rig", ev: Sequence[EvBoardConfig] = ()
) -> Path:
    path.write_text(svg(cfg, title, ev))
    return path
