"""What the agent's pure logic asks the runtime to do; the runtime does the I/O."""

from __future__ import annotations

from dataclasses import dataclass

from charger.hw.interfaces import EvseCommand


@dataclass(frozen=True)
class SetDuty:
    connector: int
    duty: float | None


@dataclass(frozen=True)
class SetContactors:
    connector: int
    closed: bool


@dataclass(frozen=True)
class SetOutput:
    connector: int
    voltage_v: float
    current_a: float


@dataclass(frozen=True)
class SetEvse:
    connector: int
    command: EvseCommand


@dataclass(frozen=True)
class SendStatus:
    connector: int
    status: str
    error_code: str = "NoError"
    info: str | None = None


@dataclass(frozen=True)
class StartTransaction:
    connector: int
    id_tag: str
    reservation_id: int | None = None


@dataclass(frozen=True)
class StopTransaction:
    connector: int
    reason: str
    id_tag: str | None = None


Action = (
    SetDuty | SetContactors | SetOutput | SetEvse | SendStatus | StartTransaction | StopTransaction
)
