"""Fake hardware and a fake OCPP link for the agent's socket-free tests."""

from __future__ import annotations

from typing import Any

from charger.agent.runtime import Charger
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.hw.interfaces import (
    ConnectorHardware,
    CpReading,
    EvStatus,
    Hardware,
    MeterReading,
    PowerStatus,
    PpReading,
)


class FakeMeter:
    async def read(self) -> MeterReading:
        return MeterReading(400.0, 0.0, 0.0, 1000.0, 0.0)

    async def close(self) -> None: ...


class FakePilot:
    def set_duty(self, duty): ...

    def cp(self):
        return CpReading("A", 12.0, 12.0)

    def pp(self):
        return PpReading(4.5, False)

    def close(self): ...


class FakePower:
    async def start(self): ...

    async def close(self): ...

    async def set_contactors(self, connector, closed): ...

    async def set_output(self, connector, voltage_v, current_a): ...

    async def set_evse(self, connector, command): ...

    def status(self, connector):
        return PowerStatus()

    def ev(self, connector):
        return EvStatus()

    def age_s(self, connector):
        return 0.1


class FakeRfid:
    def start(self, on_event): ...

    def close(self): ...


class FakeLink:
    """Answers CALLs from a script: an exception to raise or a response to return."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.sent: list[tuple[str, dict]] = []

    async def request(self, payload: Any) -> dict:
        self.sent.append((type(payload).__name__, payload))
        answer = self.script.pop(0) if self.script else {}
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_charger(tmp_path, **config: str) -> Charger:
    hw = Hardware(
        connectors={1: ConnectorHardware(1, "CCS2", FakeMeter(), FakePilot())},
        power=FakePower(),
        rfid=FakeRfid(),
    )
    settings = AgentSettings(
        charge_point_id="CP",
        csms_url="ws://127.0.0.1:1/ocpp",
        state_dir=str(tmp_path),
        hardware_file="unused",
        initial_config={"TransactionMessageRetryInterval": "1", **config},
    )
    return Charger(settings, hw, Clock.start(speed=100))
