"""A case as a sequence chart: the OCPP messages between the charge point and the Central
System, one arrow each in time order, with the case's steps and their verdicts between.

Plain SVG with every label escaped; the report embeds it and the panel shows the
same drawing for a case of a finished run.
"""

from __future__ import annotations

from html import escape
from typing import Any

from bench.report.steps import step_verdicts

WIDTH = 760
ROW = 20
TOP = 44
CP_X = 200
CS_X = 640
TIME_X = 8
MAX_FRAMES = 400  # a soak's thousands of frames: the first ones, then a note
STEP_COLOURS = {
    "pass": "#10592a",
    "fail": "#8f1c12",
    "error": "#6b3a00",
    "running": "#1f4f8a",
    "stopped": "#555",
}
MARKS = {"pass": "✓", "fail": "✗", "error": "!", "running": "…", "stopped": "■"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _lanes(role: str | None) -> dict[str, int]:
    """x of each sender: in a cs case the device under test is the charge point."""
    if role == "csms":
        return {"dut": CS_X, "bench": CP_X}
    return {"dut": CP_X, "bench": CS_X}


def _label(frame: dict[str, Any], action: str | None) -> tuple[str, str, bool]:
    """(text, colour, dashed) of one frame's arrow."""
    kind = frame.get("message_type")
    payload = frame.get("payload") if isinstance(frame.get("payload"), dict) else {}
    if kind == 2:
        detail = payload.get("status") or payload.get("type") or payload.get("reason") or ""
        return f"{action or '?'}{' ' + str(detail) if detail else ''}", "#111", False
    if kind == 3:
        status = payload.get("status") or (payload.get("idTagInfo") or {}).get("status") or ""
        return f"{action or '?'} result{' ' + str(status) if status else ''}", "#1f4f8a", True
    if kind == 4:
        code = frame.get("payload")
        code = code.get("errorCode") if isinstance(code, dict) else ""
        return f"{action or '?'} CALLERROR {code or ''}".strip(), "#8f1c12", True
    return "unreadable frame", "#8f1c12", True


def timeline_svg(case: dict[str, Any], role: str | None = None) -> str:
    """The case's sequence chart as an ``<svg>`` element (str)."""
    role = role or case.get("role")
    frames = [f for f in case.get("trace") or [] if isinstance(f, dict)]
    shown = frames[:MAX_FRAMES]
    steps = [s for s in case.get("steps") or [] if isinstance(s, dict)]
    verdicts = step_verdicts(steps, str(case.get("verdict", "pass")))
    # steps sit before the frame the trace had reached when they began
    before: dict[int, list[tuple[dict[str, Any], str]]] = {}
    for step, verdict in zip(steps, verdicts, strict=True):
        mark = step.get("frame")
        at = mark if isinstance(mark, int) else len(frames)
        before.setdefault(min(at, len(shown)), []).append((step, verdict))
    lanes = _lanes(role)
    t0 = next((f["ts"] for f in shown if isinstance(f.get("ts"), int | float)), None)
    calls: dict[tuple[Any, Any], str | None] = {}
    rows: list[str] = []
    y = TOP

    def step_rows(index: int) -> None:
        nonlocal y
        for step, verdict in before.get(index, []):
            colour = STEP_COLOURS[verdict]
            text = f"{MARKS[verdict]} {step.get('text', '')}"
            rows.append(
                f'<rect x="{TIME_X + 84}" y="{y - 13}" width="{WIDTH - TIME_X - 92}" '
                f'height="{ROW - 3}" fill="{colour}" fill-opacity="0.08" rx="3"/>'
                f'<text x="{TIME_X + 90}" y="{y}" fill="{colour}" font-weight="bold" '
                f'class="step {verdict}">{_e(text[:110])}</text>'
            )
            y += ROW

    for index, frame in enumerate(shown):
        step_rows(index)
        sender, kind, uid = frame.get("sender"), frame.get("message_type"), frame.get("unique_id")
        action = frame.get("action")
        if kind == 2:
            calls[(sender, uid)] = action
        elif kind in (3, 4):
            action = action or calls.pop(("bench" if sender == "dut" else "dut", uid), None)
        text, colour, dashed = _label(frame, action)
        x1 = lanes.get(str(sender), CP_X)
        x2 = CS_X if x1 == CP_X else CP_X
        ts = frame.get("ts")
        when = f"+{ts - t0:.3f} s" if isinstance(ts, int | float) and t0 is not None else ""
        head = x2 - 8 if x2 > x1 else x2 + 8
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        rows.append(
            f'<text x="{TIME_X}" y="{y}" fill="#555" class="t">{_e(when)}</text>'
            f'<line x1="{x1}" y1="{y}" x2="{head}" y2="{y}" stroke="{colour}"{dash}/>'
            f'<polygon points="{x2},{y} {head},{y - 4} {head},{y + 4}" fill="{colour}"/>'
            f'<text x="{(x1 + x2) // 2}" y="{y - 4}" text-anchor="middle" fill="{colour}" '
            f'class="msg">{_e(text[:70])}</text>'
        )
        y += ROW
    step_rows(len(shown))
    if len(frames) > len(shown):
        rows.append(
            f'<text x="{TIME_X}" y="{y}" fill="#555">… {len(frames) - len(shown)} more '
            "frames: see the OCPP trace</text>"
        )
        y += ROW
    height = y + 6
    cp_title = "Charge Point" + (" (DUT)" if role != "csms" else " (bench)")
    cs_title = "Central System" + (" (DUT)" if role == "csms" else " (bench)")
    return (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="Helvetica,Arial,sans-serif" '
        f'font-size="11" role="img" aria-label="sequence chart of {_e(case.get("id"))}">'
        f'<text x="{CP_X}" y="16" text-anchor="middle" font-weight="bold">{cp_title}</text>'
        f'<text x="{CS_X}" y="16" text-anchor="middle" font-weight="bold">{cs_title}</text>'
        f'<line x1="{CP_X}" y1="24" x2="{CP_X}" y2="{height}" stroke="#999"/>'
        f'<line x1="{CS_X}" y1="24" x2="{CS_X}" y2="{height}" stroke="#999"/>'
        + "".join(rows)
        + "</svg>"
    )
