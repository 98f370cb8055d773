"""What the charger agent sees of its hardware, whatever drives it.

The agent only depends on these types. ``charger.hw.factory.open_hardware`` builds
the real drivers from a :class:`HardwareConfig`; in simulation the same drivers
are pointed at twins (pty, Modbus TCP, CAN over python-can-remote, a wire file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal, Protocol


class HardwareError(Exception):
    """A part did not answer or answered nonsense; the agent turns it into Faulted."""


class MeterError(HardwareError):
    pass


# --- RFID -------------------------------------------------------------------


@dataclass(frozen=True)
class TagEvent:
    kind: Literal["present", "removed"]
    uid: str  # idTag as the reader reports it: upper-case hex, e.g. "0A00B1C2D3"


class RfidReader(Protocol):
    def start(self, on_event: Callable[[TagEvent], None]) -> None:
        """Start reading; ``on_event`` is called from the reader's own thread."""

    def close(self) -> None: ...


# --- Energy meter (one per connector) ----------------------------------------


@dataclass(frozen=True)
class MeterReading:
    voltage_v: float
    current_a: float
    power_w: float
    energy_import_wh: float
    energy_export_wh: float
    # L1, L2, L3 of a three-phase meter (SDM630); empty for a DC or one-phase meter.
    phase_voltage_v: tuple[float, ...] = ()
    phase_current_a: tuple[float, ...] = ()
    phase_power_w: tuple[float, ...] = ()


class Meter(Protocol):
    async def read(self) -> MeterReading:
        """Raises :class:`MeterError` on timeout, Modbus exception or implausible data."""

    async def close(self) -> None: ...


# --- Power stage on CAN: contactors, power modules, SECC (EV high-level link) --


class HlcStage(IntEnum):
    """Where the EV is in the DIN SPEC 70121 / ISO 15118-2 DC sequence."""

    IDLE = 0
    SLAC = 1
    SESSION_SETUP = 2  # SDP .. ServicePaymentSelection
    AUTHORIZATION = 3  # ContractAuthentication, repeated while the EVSE says Ongoing
    CHARGE_PARAMETER_DISCOVERY = 4
    CABLE_CHECK = 5
    PRE_CHARGE = 6
    CURRENT_DEMAND = 7  # PowerDelivery(start) then the CurrentDemand loop
    POWER_DELIVERY_STOP = 8
    WELDING_DETECTION = 9
    SESSION_STOP = 10
    ERROR = 15


class EvseStatus(IntEnum):
    NOT_READY = 0
    READY = 1
    SHUTDOWN = 2
    EMERGENCY_SHUTDOWN = 3


@dataclass(frozen=True)
class EvStatus:
    """What the SECC reports of the EV."""

    stage: HlcStage = HlcStage.IDLE
    soc_percent: float = 0.0
    target_voltage_v: float = 0.0
    target_current_a: float = 0.0
    ev_ready: bool = False
    charging_complete: bool = False
    ev_error: bool = False
    stop_requested: bool = False


@dataclass(frozen=True)
class EvseCommand:
    """What the agent tells the SECC, which answers the EV with it."""

    status: EvseStatus = EvseStatus.NOT_READY
    authorized: bool = False
    isolation_valid: bool = False
    stop_requested: bool = False
    max_current_a: float = 0.0
    max_voltage_v: float = 0.0
    max_power_w: float = 0.0


@dataclass(frozen=True)
class PowerStatus:
    contactors_closed: bool = False  # auxiliary-contact feedback, not the command
    contactor_fault: bool = False
    output_voltage_v: float = 0.0
    output_current_a: float = 0.0
    module_enabled: bool = False
    module_fault: bool = False
    emergency_stop: bool = False  # the e-stop button is pressed (its loop is open)
    isolation_fault: bool = False  # the insulation monitor: DC+/DC- to PE below 100 kOhm


class PowerStage(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def set_contactors(self, connector: int, closed: bool) -> None: ...

    async def set_output(self, connector: int, voltage_v: float, current_a: float) -> None:
        """current_a == 0 disables the module."""

    async def set_evse(self, connector: int, command: EvseCommand) -> None: ...

    def status(self, connector: int) -> PowerStatus: ...

    def ev(self, connector: int) -> EvStatus: ...

    def age_s(self, connector: int) -> float:
        """Seconds since the last status frame from this connector's power stage."""


# --- Control pilot and proximity (per connector) -----------------------------


CpState = Literal["A", "B", "C", "D", "E", "F"]


@dataclass(frozen=True)
class CpReading:
    state: CpState
    high_v: float
    low_v: float
    diode_fault: bool = False


@dataclass(frozen=True)
class PpReading:
    volts: float
    plugged: bool
    latch_pressed: bool = False  # CCS1 only


class Pilot(Protocol):
    def set_duty(self, duty: float | None) -> None:
        """None: steady +12 V (no PWM); 0.05: digital communication; 0.0: -12 V (state F)."""

    def cp(self) -> CpReading: ...

    def pp(self) -> PpReading: ...

    def close(self) -> None: ...


@dataclass
class ConnectorHardware:
    connector_id: int
    standard: Literal["CCS1", "CCS2"]
    meter: Meter
    pilot: Pilot


@dataclass
class Hardware:
    connectors: dict[int, ConnectorHardware]
    power: PowerStage
    rfid: RfidReader
    extras: dict[str, object] = field(default_factory=dict)
