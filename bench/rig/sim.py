"""The simulated rig: every part's twin, the EVs and the DC physics in one loop.

The agent sees only the twins' real protocols. This module closes the loop the way
copper does on a real rig: the power stage's contactors and module setpoint, the
EV's contactor and battery, decide the current; the meter twin integrates it and
the battery receives exactly the same energy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.ev import Battery, ChargerLimits, DcOutput, EvSession, ModuleSetpoint, dc_output
from bench.ev.battery import ccs1_car, ccs2_car
from bench.ev.board.config import EvBoardConfig, sim_board
from bench.twins.can import CanBusServer, PowerStageTwin
from bench.twins.meter import MeterTwin
from bench.twins.pilot import WireEv
from bench.twins.rfid import RfidTwin
from charger.clock import Clock
from charger.hw.config import (
    CanConfig,
    ConnectorConfig,
    HardwareConfig,
    MeterConfig,
    PilotConfig,
    RfidConfig,
)
from charger.hw.interfaces import EvseCommand, EvseStatus, EvStatus, HlcStage
from charger.hw.meter.registers import decode, register_map
from charger.hw.pilot.circuit import EvState

log = logging.getLogger("bench.rig")

PHYSICS_DT_S = 0.05
SECC_CONTROLLER_TIMEOUT_S = 1.0  # the SECC's watchdog on the controller's commands
IMD_MIN_V = 50.0  # the insulation monitor measures only with voltage on the output
SECC_SEQUENCE_TIMEOUT_S = 60.0  # DIN 70121: the SECC waits this long for the EV's next request
POWER_STAGE_WATCHDOG_S = 1.0


@dataclass(frozen=True)
class ConnectorSpec:
    id: int
    standard: str
    car: Callable[[], Battery]
    max_current_a: float = 200.0
    max_power_w: float = 120_000.0
    meter_model: str = "acrel-djsf1352-rn"  # or "eastron-sdm630" (charger.hw.meter.registers)


DEFAULT_CONNECTORS = (
    ConnectorSpec(1, "CCS2", ccs2_car),
    ConnectorSpec(2, "CCS1", ccs1_car),
)


class SimRig:
    def __init__(
        self,
        root: Path,
        clock: Clock,
        specs: tuple[ConnectorSpec, ...] = DEFAULT_CONNECTORS,
        *,
        can_port: int = 0,
        meter_ports: tuple[int, ...] = (),
    ) -> None:
        self.root = root
        self.can_port = can_port  # 0: any free port
        self.meter_ports = meter_ports  # per connector slot; missing: any free port
        self.clock = clock
        self.specs = {spec.id: spec for spec in specs}
        self.connector_ids = sorted(self.specs)
        self.powered = True
        self.outputs: dict[int, DcOutput] = {cid: DcOutput() for cid in self.connector_ids}
        self.evs: dict[int, EvSession] = {
            cid: EvSession(spec.car(), spec.standard) for cid, spec in self.specs.items()
        }
        self.meters: dict[int, MeterTwin] = {}
        self.can_server: CanBusServer | None = None
        self.power: PowerStageTwin | None = None
        self.rfid: RfidTwin | None = None
        self.wire: WireEv | None = None
        self.boards: set[int] = set()  # connectors whose CP/PP an EV board drives
        # Faults a lab injects on the EV side: a CP network (diode_fault, E) or a PP-PE
        # resistance that replaces what the modelled EV presents, until cleared.
        self.cp_fault: dict[int, EvState] = {}
        self.pp_fault: dict[int, float] = {}
        self.silent: dict[int, float] = {}  # connector -> since when its EV sends nothing
        # Insulation faults on the DC output: the monitor finds one once voltage is on it.
        self.isolation_fault: set[int] = set()
        self._task: asyncio.Task | None = None

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> HardwareConfig:
        """Start every twin; returns the hardware map the agent must be given."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.can_server = CanBusServer(port=self.can_port).start()
        self.power = PowerStageTwin(
            self.can_server.open_bus(),
            self.connector_ids,
            command_timeout_s=POWER_STAGE_WATCHDOG_S,
        ).start()
        self.rfid = RfidTwin()
        self.wire = WireEv(self.root / "pilot.wire")
        for slot, cid in enumerate(self.connector_ids):
            spec = self.specs[cid]
            port = self.meter_ports[slot] if slot < len(self.meter_ports) else 0
            meter = MeterTwin(
                self.root / f"meter{cid}.json", register_map(spec.meter_model), port=port
            )
            await meter.start()
            self.meters[cid] = meter
        for slot in range(len(self.connector_ids)):
            self.wire.set_ev(slot, "unplugged", None)
        self._task = asyncio.create_task(self._physics(), name="rig physics")
        return self.hardware_config()

    @property
    def running(self) -> bool:
        """Between start() and stop(): the twins serve and the physics loop runs."""
        return self._task is not None and not self._task.done()

    def hardware_config(self) -> HardwareConfig:
        assert self.can_server and self.rfid and self.wire
        connectors = [
            ConnectorConfig(
                id=cid,
                standard=self.specs[cid].standard,  # type: ignore[arg-type]
                meter=MeterConfig(
                    model=self.specs[cid].meter_model,
                    transport="tcp",
                    host="127.0.0.1",
                    port=self.meters[cid].port,
                ),
                pilot=PilotConfig(
                    backend="sim",
                    pwm_pin=12 + slot,
                    spi_device=0,
                    cp_channel=2 * slot,
                    pp_channel=2 * slot + 1,
                    wire_file=str(self.wire.path),
                    slot=slot,
                ),
            )
            for slot, cid in enumerate(self.connector_ids)
        ]
        return HardwareConfig(
            connectors=connectors,
            can=CanConfig(interface="remote", channel=self.can_server.url),
            rfid=RfidConfig(device=self.rfid.device_path),
        )

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for meter in self.meters.values():
            meter.save()
            await meter.close()
        if self.rfid:
            self.rfid.close()
        if self.power:
            self.power.close()
        if self.can_server:
            self.can_server.close()
        if self.wire:
            self.wire.close()

    # --- the loop ------------------------------------------------------------------

    async def _physics(self) -> None:
        last = self.clock.monotonic()
        while True:
            await self.clock.sleep(PHYSICS_DT_S)
            now = self.clock.monotonic()
            dt, last = now - last, now
            for slot, cid in enumerate(self.connector_ids):
                try:
                    self._step(slot, cid, now, dt)
                except Exception:  # noqa: BLE001 - the rig must outlive one bad tick
                    log.exception("rig physics tick failed on connector %s", cid)

    def _step(self, slot: int, cid: int, now: float, dt: float) -> None:
        assert self.power and self.wire
        ev = self.evs[cid]
        spec = self.specs[cid]
        setpoint = self.power.module_setpoint(cid)
        closed = self.powered and self.power.contactors_closed(cid)
        module = ModuleSetpoint(
            voltage_v=setpoint.voltage_v,
            current_limit_a=setpoint.current_a,
            enabled=self.powered and setpoint.enable,
        )
        out = dc_output(
            dt=dt,
            contactors_closed=closed,
            module=module,
            limits=ChargerLimits(spec.max_current_a, spec.max_power_w),
            ev=ev.electrical(),
            previous=self.outputs[cid],
        )
        self.outputs[cid] = out
        # The same joules reach the meter and the battery.
        self.meters[cid].update(out.voltage_v, out.current_a, dt)
        ev.charge(now, dt, out.voltage_v, out.current_a)
        duty = self.wire.evse_duty(slot) if self.powered else None
        status = ev.ev_status
        silent_since = self.silent.get(cid)
        if silent_since is None:
            ev.step(now, duty, self._secc_answer(cid, now), out.voltage_v, out.current_a)
            status = ev.ev_status
        elif now - silent_since > SECC_SEQUENCE_TIMEOUT_S:
            # The EV froze mid-session: its SECC gives up on the next request.
            status = EvStatus(stage=HlcStage.ERROR, soc_percent=status.soc_percent, ev_error=True)
        self.power.set_output_measured(cid, out.voltage_v, out.current_a)
        self.power.set_isolation_fault(
            cid, cid in self.isolation_fault and closed and out.voltage_v > IMD_MIN_V
        )
        self.power.set_ev_status(cid, status)
        if cid not in self.boards:
            cp = self.cp_fault.get(cid, ev.cp_network)
            self.wire.set_ev(slot, cp, self.pp_fault.get(cid, ev.pp_ohms))

    def ev_board(self, cid: int, pins: dict[str, Any] | None = None) -> EvBoardConfig:
        """Hand connector ``cid``'s CP and PP to a vehicle-side board (its twin on the
        wire): the modelled EV stops writing them until :meth:`release_board`."""
        assert self.wire is not None
        self.boards.add(cid)
        return sim_board(
            str(self.wire.path),
            self.connector_ids.index(cid),
            cid,
            self.specs[cid].standard,  # type: ignore[arg-type]
            **(pins or {}),
        )

    def release_board(self, cid: int) -> None:
        self.boards.discard(cid)

    def _secc_answer(self, cid: int, now: float) -> EvseCommand:
        """The SECC answers the EV itself; it relays the controller's latest command
        while that is fresh and shuts the session down if the controller falls silent."""
        assert self.power
        if not self.powered or self.power.command_age_s() > SECC_CONTROLLER_TIMEOUT_S:
            return EvseCommand(status=EvseStatus.EMERGENCY_SHUTDOWN, stop_requested=True)
        return self.power.evse_command(cid)

    # --- what a scenario (or a person at the bench) does -------------------------------

    def plug(self, cid: int) -> None:
        self.evs[cid].plug(self.clock.monotonic())

    def unplug(self, cid: int) -> None:
        self.silent.pop(cid, None)
        self.evs[cid].unplug(self.clock.monotonic())

    def ev_silent(self, cid: int) -> None:
        """The EV stops answering: it sends no request any more and hears nothing (its
        contactor stays as it was), until it is unplugged."""
        self.silent.setdefault(cid, self.clock.monotonic())

    def ev_stop(self, cid: int) -> None:
        self.evs[cid].request_stop(self.clock.monotonic())

    def present_tag(self, uid: str) -> None:
        assert self.rfid
        self.rfid.present(uid)

    def remove_tag(self) -> None:
        assert self.rfid
        self.rfid.remove()

    def meter_wh(self, cid: int) -> float:
        """The import energy register as the meter shows it over Modbus, in Wh."""
        meter = self.meters[cid]
        return decode(meter.map, meter.registers())["energy_import_wh"]

    def power_w(self, cid: int) -> float:
        out = self.outputs[cid]
        return out.voltage_v * out.current_a

    def emergency_stop(self, pressed: bool = True) -> None:
        """Press (or release) the charger's emergency stop button."""
        assert self.power
        self.power.press_emergency_stop(pressed)

    def power_cut(self) -> None:
        """The charger loses mains: no CP generator, no power modules."""
        self.powered = False

    def power_restore(self) -> None:
        self.powered = True

    def snapshot(self) -> dict[str, Any]:
        """What the panel and the CLI show of the rig."""
        state: dict[str, Any] = {"powered": self.powered, "connectors": {}}
        for slot, cid in enumerate(self.connector_ids):
            ev = self.evs[cid]
            out = self.outputs[cid]
            state["connectors"][cid] = {
                "standard": self.specs[cid].standard,
                "plugged": ev.plugged,
                "cp": ev.cp_network,
                "stage": ev.stage.name,
                "soc": round(ev.battery.soc_percent, 2),
                "voltage_v": round(out.voltage_v, 1),
                "current_a": round(out.current_a, 1),
                "power_w": round(out.voltage_v * out.current_a),
                "meter_wh": self.meter_wh(cid),
                "contactors": self.power.contactors_closed(cid) if self.power else False,
                "duty": self.wire.evse_duty(slot) if self.wire else None,
                # the EV's side of the DC session and the power modules' setpoint
                "requested_current_a": round(float(ev.target_current_a), 1),
                "requested_voltage_v": round(float(ev.target_voltage_v), 1),
                "ev_contactor": bool(ev.ev_contactor_closed),
                "ev_error": ev.error,
                "target_soc": ev.target_soc_percent,
                "setpoint": self._setpoint(cid),
            }
        return state

    def _setpoint(self, cid: int) -> dict[str, Any] | None:
        if self.power is None:
            return None
        sp = self.power.module_setpoint(cid)
        return {
            "voltage_v": round(float(sp.voltage_v), 1),
            "current_a": round(float(sp.current_a), 1),
            "enabled": bool(sp.enable),
            "power_w": round(float(sp.voltage_v) * float(sp.current_a)) if sp.enable else 0,
        }
