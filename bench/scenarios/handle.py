"""The one handle a scenario drives the bench through.

A scenario says what should happen ("expect a StatusNotification Charging on
connector 1 within 30 s"); the handle says, on failure, what did happen instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem
    from bench.system import BenchSystem


class ScenarioFailed(AssertionError):
    """The device under test did not do what the case requires."""


def matches(payload: dict[str, Any], subset: dict[str, Any] | None) -> bool:
    if not subset:
        return True
    for key, want in subset.items():
        have = payload.get(key)
        if isinstance(want, dict):
            if not isinstance(have, dict) or not matches(have, want):
                return False
        elif callable(want):
            if not want(have):
                return False
        elif have != want:
            return False
    return True


class Handle:
    def __init__(self, system: BenchSystem) -> None:
        self.system = system
        self.rig = system.rig
        self.cp_id = system.cp_id
        self.steps: list[tuple[float, str]] = []
        self.details: dict[str, Any] = {}
        self.started = time.monotonic()

    @property
    def csms(self) -> CentralSystem:
        """The Central System now running (a restart replaces it)."""
        assert self.system.csms is not None
        return self.system.csms

    def step(self, text: str) -> None:
        self.steps.append((round(time.monotonic() - self.started, 3), text))

    def mark(self) -> int:
        """A point in the message trace; expectations can look only after it."""
        return self.csms.mark()

    async def expect(
        self,
        action: str,
        subset: dict[str, Any] | None = None,
        within: float = 10.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The first request ``action`` from the charge point matching ``subset``."""
        self.step(f"expect {action} {subset or ''} within {within:g} s")
        try:
            return await self.csms.wait_for(
                self.cp_id,
                action,
                predicate=lambda payload: matches(payload, subset),
                timeout=within,
                since=since or 0,
            )
        except TimeoutError:
            seen = [
                f"{f['action']} {f['payload']}"
                for f in self.csms.trace[since or 0 :]
                if f["direction"] == "in" and f["action"] == action
            ][-5:]
            raise ScenarioFailed(
                f"no {action} matching {subset} within {within:g} s; saw: {seen or 'none'}"
            ) from None

    async def wait_until(self, what: str, predicate: Any, within: float) -> None:
        deadline = time.monotonic() + self.system.clock.wall(within)
        while not predicate():
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"{what}: not reached within {within:g} s")
            await self.system.clock.sleep(0.1)

    async def sleep(self, seconds: float) -> None:
        await self.system.clock.sleep(seconds)

    async def booted(self, within: float = 30.0) -> None:
        """The agent is connected, accepted, and has reported every connector."""
        await self.expect("BootNotification", within=within, since=0)
        for connector in self.rig.connector_ids:
            await self.expect("StatusNotification", {"connectorId": connector}, within=within)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise ScenarioFailed(message)
