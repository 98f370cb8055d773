"""Inline SVG line charts of a case's electrical samples.

Plain SVG so that the report is one printable file: no script, no external asset.
Connectors differ by colour *and* dash pattern so a black-and-white print still
tells them apart.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

#: (sample key, quantity, unit, factor from the sample's unit, y range it always shows).
#: Power and current start at zero so a ramp reads true; voltage is scaled to its own
#: range, where the interesting part (a few volts of drift) lives; SoC is 0-100 %.
QUANTITIES: tuple[tuple[str, str, str, float, tuple[float, float] | None], ...] = (
    ("power_w", "Power", "kW", 0.001, (0.0, 0.0)),
    ("current_a", "Current", "A", 1.0, (0.0, 0.0)),
    ("voltage_v", "Voltage", "V", 1.0, None),
    ("soc", "State of charge", "%", 1.0, (0.0, 100.0)),
)
STYLES = (("#1f5fa8", ""), ("#c0392b", "7 4"), ("#2e8b57", "2 3"), ("#7d3c98", "9 3 2 3"))

WIDTH, HEIGHT = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 44

Series = dict[str, list[tuple[float, float]]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^n steps) covering [lo, hi]."""
    if hi <= lo:
        lo, hi = (lo - 1, hi + 1) if lo == hi else (hi, lo)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step + 1e-9) * step
    end = math.ceil(hi / step - 1e-9) * step
    return [round(start + i * step, 10) for i in range(int(round((end - start) / step)) + 1)]


def _label(value: float, step: float) -> str:
    """As many decimals as the tick step needs (2.5 -> one, 20 -> none)."""
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < 1e-9), 6)
    return f"{value:.{decimals}f}"


def series_by_quantity(samples: dict[str, Any] | None) -> dict[str, Series]:
    """{sample key: {connector: [(s since the first sample, value)]}} for plotted keys."""
    per_connector = {
        str(k): [s for s in v if isinstance(s, dict) and _number(s.get("t")) is not None]
        for k, v in (samples or {}).items()
        if isinstance(v, list)
    }
    starts = [s["t"] for v in per_connector.values() for s in v]
    if not starts:
        return {}
    t0 = min(starts)
    out: dict[str, Series] = {}
    for key, _, _, factor, _ in QUANTITIES:
        series: Series = {}
        for connector in sorted(per_connector, key=_connector_order):
            points = [
                (s["t"] - t0, value * factor)
                for s in sorted(per_connector[connector], key=lambda s: s["t"])
                if (value := _number(s.get(key))) is not None
            ]
            if points:
                series[connector] = points
        if series:
            out[key] = series
    return out


def _connector_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (10**9, name)


def _el(tag: str, text: str | None = None, **attrs: Any) -> str:
    """One SVG element; attribute names use _ for -, values are escaped."""
    attr = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
        for k, v in attrs.items()
        if v not in (None, "")
    )
    return f"<{tag}{attr}/>" if text is None else f"<{tag}{attr}>{escape(text)}</{tag}>"


def line_chart(
    quantity: str, unit: str, series: Series, *, include: tuple[float, float] | None = None
) -> str:
    """One SVG chart: value against time, one polyline per connector, with a legend."""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x_ticks = ticks(0.0, max(xs) if max(xs) > 0 else 1.0)
    lo, hi = min(ys), max(ys)
    if include:
        lo, hi = min(lo, include[0]), max(hi, include[1])
    y_ticks = ticks(lo, hi + 0.03 * (hi - lo))  # headroom: a line on the frame is lost
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom, right, mid_y = TOP + plot_h, LEFT + plot_w, TOP + plot_h / 2

    def px(x: float) -> float:
        return round(LEFT + (x - x0) / (x1 - x0) * plot_w, 1)

    def py(y: float) -> float:
        return round(TOP + plot_h - (y - y0) / (y1 - y0) * plot_h, 1)

    title = f"{quantity} ({unit})"
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="Helvetica, Arial, sans-serif" role="img" '
        f'aria-label="{escape(title)} against time">',
        _el("title", f"{title} against time"),
        _el("text", title, x=LEFT, y=16, font_size=12, font_weight="bold"),
    ]
    y_step = y_ticks[1] - y_ticks[0]
    for t in y_ticks:
        parts.append(_el("line", x1=LEFT, y1=py(t), x2=right, y2=py(t), stroke="#ddd"))
        label = _label(t, y_step)
        parts.append(
            _el(
                "text", label, x=LEFT - 6, y=py(t) + 4, font_size=10, fill="#333", text_anchor="end"
            )
        )
    x_step = x_ticks[1] - x_ticks[0]
    for t in x_ticks:
        parts.append(_el("line", x1=px(t), y1=TOP, x2=px(t), y2=bottom, stroke="#ddd"))
        label = _label(t, x_step)
        parts.append(
            _el(
                "text",
                label,
                x=px(t),
                y=bottom + 16,
                font_size=10,
                fill="#333",
                text_anchor="middle",
            )
        )
    parts.append(
        _el("rect", x=LEFT, y=TOP, width=plot_w, height=plot_h, fill="none", stroke="#666")
    )
    mid_x = LEFT + plot_w / 2
    parts.append(_el("text", "Time (s)", x=mid_x, y=HEIGHT - 6, font_size=11, text_anchor="middle"))
    parts.append(
        _el(
            "text",
            title,
            x=14,
            y=mid_y,
            font_size=11,
            text_anchor="middle",
            transform=f"rotate(-90 14 {mid_y})",
        )
    )
    for i, (connector, points) in enumerate(series.items()):
        colour, dash = STYLES[i % len(STYLES)]
        line = {"stroke": colour, "stroke_dasharray": dash}
        coords = " ".join(f"{px(x)},{py(y)}" for x, y in points)
        parts.append(_el("polyline", points=coords, fill="none", stroke_width=1.8, **line))
        if len(points) == 1:
            x, y = points[0]
            parts.append(_el("circle", cx=px(x), cy=py(y), r=2.5, fill=colour))
        lx = right - 110 * (len(series) - i)
        parts.append(_el("line", x1=lx, y1=12, x2=lx + 24, y2=12, stroke_width=2, **line))
        parts.append(
            _el("text", f"Connector {connector}", x=lx + 28, y=16, font_size=10, fill="#333")
        )
    parts.append("</svg>")
    return "".join(parts)


def idle(samples: dict[str, Any] | None) -> bool:
    """Samples exist but every value is zero: the rig was sampled, nothing flowed."""
    found = series_by_quantity(samples)
    return bool(found) and all(
        y == 0 for series in found.values() for pts in series.values() for _, y in pts
    )


def charts(samples: dict[str, Any] | None) -> list[str]:
    """One SVG per quantity that has at least one value.

    Empty when there are no samples, and when all of them are zero: a hundred flat
    lines would bury the sessions that did charge in a printed report (see :func:`idle`).
    """
    if idle(samples):
        return []
    out = []
    for key, series in series_by_quantity(samples).items():
        _, quantity, unit, _, shown = next(q for q in QUANTITIES if q[0] == key)
        out.append(line_chart(quantity, unit, series, include=shown))
    return out
