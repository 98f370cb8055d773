"""Each step of a case with its verdict, for the report's step list and the panel's log.

A scenario stops at its first failed expectation, so the steps before the last one
passed and the last one carries the case's verdict (pass, fail or error); while the
case runs its last step is still running.
"""

from __future__ import annotations

from typing import Any

STEP_VERDICTS = ("pass", "fail", "error", "running", "stopped")


def step_verdicts(steps: list[Any], state: str) -> list[str]:
    """One verdict per step; ``state`` is the case's verdict or ``running``/``stopped``."""
    if not steps:
        return []
    last = {"pass": "pass", "fail": "fail", "error": "error", "running": "running"}.get(
        state, "stopped" if state == "stopped" else "pass"
    )
    return ["pass"] * (len(steps) - 1) + [last]
