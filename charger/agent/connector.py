"""One connector of the DC charger as pure logic: inputs in, actions out.

Like the ``websockets`` protocol objects, nothing here reads a clock, a socket or a
pin: the runtime samples the hardware, calls :meth:`ConnectorLogic.tick` and carries
out the returned actions. That keeps every state transition testable in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charger.agent.commands import (
    Action,
    SendStatus,
    SetContactors,
    SetDuty,
    SetEvse,
    SetOutput,
    StartTransaction,
    StopTransaction,
)
from charger.hw.interfaces import (
    CpReading,
    EvseCommand,
    EvseStatus,
    EvStatus,
    HlcStage,
    PowerStatus,
    PpReading,
)

DIGITAL_COMMUNICATION_DUTY = 0.05
CABLE_CHECK_CURRENT_A = 1.0
PRE_CHARGE_CURRENT_A = 2.0
CONTACTOR_SETTLE_S = 0.5
POWER_STAGE_SILENCE_S = 1.5
STOP_CURRENT_A = 1.0
STOP_GRACE_S = 3.0
FAULT_OPEN_S = 0.5  # a fault opens the contactors once the current is down, or after this
PP_FAULT_S = 0.3  # a PP out of range this long is a fault (CP and PP are read apart)
PP_OPEN_V = 4.20  # at or above: no cable (the open PP line), not a PP out of range
#: Consecutive readings without a plug before the plug counts as gone: one stray
#: conversion must not end a session (a real pilot front end debounces the same way).
UNPLUG_READINGS = 2
EMERGENCY_FAULTS = ("GroundFailure",)  # open at once, whatever the current

ENERGY_STAGES = (HlcStage.CABLE_CHECK, HlcStage.PRE_CHARGE, HlcStage.CURRENT_DEMAND)


def reservation_matches(reservation: dict, id_tag: str, parent: str | None) -> bool:
    """A reservation is redeemed by its idTag or its parentIdTag (§5.13); idTags are
    CiString, so case does not matter."""
    if reservation["id_tag"].upper() == id_tag.upper():
        return True
    held_parent = reservation.get("parent")
    return bool(parent and held_parent and held_parent.upper() == parent.upper())


@dataclass(frozen=True)
class Limits:
    max_voltage_v: float = 1000.0
    max_current_a: float = 200.0
    max_power_w: float = 120_000.0
    cable_check_voltage_v: float = 500.0


@dataclass(frozen=True)
class Inputs:
    """One sample of everything the connector's hardware says."""

    now: float
    cp: CpReading | None
    ev: EvStatus
    power: PowerStatus
    power_age_s: float
    meter_ok: bool = True
    pp: PpReading | None = None
    # A part of this connector that cannot be opened: (ChargePointErrorCode, info).
    hardware_fault: tuple[str, str] | None = None
    # Wall-clock seconds (monotonic) of the sample: real I/O such as a contactor's
    # feedback settles in wall time, whatever the simulated clock's speed. None: use now.
    wall: float | None = None


@dataclass
class ConnectorLogic:
    connector_id: int
    limits: Limits = field(default_factory=Limits)
    operative: bool = True

    plugged: bool = False
    authorized_tag: str | None = None
    authorized_at: float | None = None
    tx_active: bool = False
    tx_tag: str | None = None
    energized: bool = False
    stopping: str | None = None  # the reason, while the EV is being brought down
    stop_tag: str | None = None
    stop_since: float | None = None
    finishing: bool = False
    fault: str | None = None  # a ChargePointErrorCode
    fault_info: str | None = None
    fault_since: float = 0.0
    pp_bad_since: float | None = None  # since when a plugged cable's PP is out of range
    last_status: SendStatus | None = None
    contactor_cmd: bool = False
    contactor_cmd_since: float | None = None  # None: no command yet (power-up)
    contactor_cmd_since_wall: float | None = None
    offered_current_a: float = 0.0
    duty_cmd: float | None = None
    stop_on_ev_disconnect: bool = True  # StopTransactionOnEVSideDisconnect
    pending_operative: bool | None = None  # ChangeAvailability "Scheduled" for after the tx
    evse_suspended: bool = False  # the EVSE offers no energy (invalid id, energy cap)
    unplugged_readings: int = 0  # consecutive readings without a plug while plugged
    reservation: dict | None = None  # {reservation_id, id_tag, parent} while Reserved
    limit_a: float | None = None  # the smart-charging limit in force (None: none)
    station_reservation: dict | None = None  # connector 0's, held here: the last free one
    authorized_reservation: int | None = None  # the reservation the pending tag redeems

    # --- events -------------------------------------------------------------

    def authorize(self, id_tag: str, now: float, parent: str | None = None) -> None:
        """An idTag was accepted for this connector (RFID or RemoteStart)."""
        self.authorized_tag = id_tag
        self.authorized_at = now
        held = self.held()
        if held is not None and self.holds_reservation_for(id_tag, parent):
            self.authorized_reservation = held["reservation_id"]

    def held(self) -> dict | None:
        """The reservation this connector keeps: its own, or connector 0's."""
        return self.reservation or self.station_reservation

    def holds_reservation_for(self, id_tag: str, parent: str | None) -> bool:
        """Reserved for this tag, or for its parentIdTag (OCPP 1.6 §5.13)."""
        r = self.held()
        return r is not None and reservation_matches(r, id_tag, parent)

    def accepts(self, id_tag: str, parent: str | None) -> bool:
        """Free for this tag: no reservation, or one it may redeem."""
        return self.is_free() and (
            self.held() is None or self.holds_reservation_for(id_tag, parent)
        )

    def clear_authorization(self) -> None:
        self.authorized_tag = None
        self.authorized_at = None
        self.authorized_reservation = None

    def request_stop(self, reason: str, now: float, id_tag: str | None = None) -> bool:
        if not self.tx_active or self.stopping:
            return False
        self.stopping = reason
        self.stop_tag = id_tag
        self.stop_since = now
        return True

    def change_availability(self, operative: bool) -> str:
        """ChangeAvailability: Accepted now, or Scheduled for after the transaction."""
        if self.tx_active and not operative:
            self.pending_operative = operative
            return "Scheduled"
        self.operative = operative
        self.pending_operative = None
        if not operative:
            self.clear_authorization()
        return "Accepted"

    def is_free(self) -> bool:
        """Can take a new authorization (no transaction, not faulted, operative)."""
        return (
            self.operative
            and self.fault is None
            and not self.tx_active
            and self.authorized_tag is None
            and not self.finishing
        )

    # --- the cycle ------------------------------------------------------------

    def tick(self, i: Inputs, connection_timeout_s: float = 60.0) -> list[Action]:
        out: list[Action] = []
        cid = self.connector_id
        was_plugged = self.plugged
        if self.duty_cmd != 0.0 and not (i.cp is not None and i.cp.state == "E"):
            # While this charger drives state F itself the pilot cannot show a plug; a
            # CP shorted to PE (state E) is a fault on a cable still there, not an unplug.
            seen = i.cp is not None and i.cp.state in ("B", "C", "D")
            self.unplugged_readings = 0 if seen or not self.plugged else self.unplugged_readings + 1
            if seen or self.unplugged_readings >= UNPLUG_READINGS:
                self.plugged = seen
                self.unplugged_readings = 0

        self._check_faults(i)

        # EV side disconnect ends the session at once (StopTransactionOnEVSideDisconnect).
        if was_plugged and not self.plugged:
            self.finishing = False
            if self.tx_active and (self.stop_on_ev_disconnect or self.stopping):
                self.stopping = self.stopping or "EVDisconnected"
                out += self._end_transaction(i)
            self.clear_authorization()

        if (
            self.authorized_tag is not None
            and not self.tx_active
            and not self.plugged
            and self.authorized_at is not None
            and i.now - self.authorized_at > connection_timeout_s
        ):
            self.clear_authorization()  # ConnectionTimeOut: the driver never plugged in

        if (
            self.authorized_tag is not None
            and self.plugged
            and not self.tx_active
            and self.fault is None
            and self.operative
        ):
            self.tx_active = True
            self.tx_tag = self.authorized_tag
            self.energized = False
            self.finishing = False
            reservation_id = self.authorized_reservation
            if reservation_id is not None:
                self.reservation = None  # redeemed
                self.station_reservation = None
            out.append(StartTransaction(cid, self.authorized_tag, reservation_id))
            self.clear_authorization()

        if i.pp is not None and i.pp.latch_pressed and self.tx_active and not self.stopping:
            # CCS1: the driver pressed the plug's latch to pull it out; stop charging now.
            self.request_stop("Local", i.now)

        if self.fault is not None and self.tx_active and not self.stopping:
            self.stopping = "EmergencyStop" if i.power.emergency_stop else "Other"
            self.stop_since = i.now

        out += self._drive_power(i)

        if self.tx_active and self.stopping:
            current = abs(i.power.output_current_a)
            waited = i.now - (self.stop_since or i.now)
            ev_down = i.ev.stage not in ENERGY_STAGES or not i.power.contactors_closed
            current_down = current < STOP_CURRENT_A
            if self.fault is not None:
                done = current_down or waited > FAULT_OPEN_S
            else:
                done = current_down and ev_down or waited > STOP_GRACE_S
            if done:
                out += self._end_transaction(i)

        if self.tx_active and i.power.contactors_closed and i.ev.stage in ENERGY_STAGES:
            self.energized = True

        status = self._status(i)
        if status != self.last_status:
            self.last_status = status
            out.append(status)
        return out

    # --- internals ----------------------------------------------------------

    def _end_transaction(self, i: Inputs) -> list[Action]:
        reason = self.stopping or "Local"
        action = StopTransaction(self.connector_id, reason, self.stop_tag)
        self.tx_active = False
        self.tx_tag = None
        self.stopping = None
        self.stop_tag = None
        self.stop_since = None
        self.finishing = self.plugged
        self.evse_suspended = False
        if self.pending_operative is not None:
            self.operative = self.pending_operative
            self.pending_operative = None
        return [action]

    def _check_faults(self, i: Inputs) -> None:
        fault: tuple[str, str] | None = None
        # A cable on the CP whose PP reads neither open nor a valid coding: broken or
        # wrong cable (IEC 61851-1: no energy through it).
        pp_bad = self.plugged and i.pp is not None and not i.pp.plugged and i.pp.volts < PP_OPEN_V
        if not pp_bad:
            self.pp_bad_since = None
        elif self.pp_bad_since is None:
            self.pp_bad_since = i.now
        settled = self._since_contactor_cmd(i) > CONTACTOR_SETTLE_S  # (starts the clock)
        if i.power.emergency_stop:
            fault = ("OtherError", "emergency stop pressed")
        elif not i.meter_ok:
            fault = ("PowerMeterFailure", "energy meter not answering")
        elif i.power_age_s > POWER_STAGE_SILENCE_S:
            fault = ("InternalError", "power stage silent on CAN")
        elif i.power.contactor_fault or (
            i.power.contactors_closed != self.contactor_cmd and settled
        ):
            fault = ("PowerSwitchFailure", "contactor feedback does not match command")
        elif i.power.module_fault:
            fault = ("InternalError", "power module fault")
        elif i.power.isolation_fault:
            fault = ("GroundFailure", "isolation fault (below 100 kOhm)")
        elif i.cp is not None and i.cp.state == "E":
            fault = ("GroundFailure", "control pilot shorted to PE")
        elif i.cp is not None and i.cp.diode_fault:
            fault = ("EVCommunicationError", "control pilot diode fault")
        elif self.pp_bad_since is not None and i.now - self.pp_bad_since >= PP_FAULT_S:
            fault = ("OtherError", "proximity pilot out of range")
        elif i.hardware_fault is not None:
            code, info = i.hardware_fault
            fault = (code, info[:50])  # StatusNotification.info is at most 50 characters
        elif (
            self.tx_active
            and i.ev.ev_error
            and (not self.stopping or self.fault == "EVCommunicationError")
        ):
            # The SECC gave the session up (the EV stopped answering, or aborted it) while
            # this charger meant to go on: a communication failure, until the tx ends.
            fault = ("EVCommunicationError", "EV session aborted")
        if fault is None:
            self.fault = self.fault_info = None
        else:
            if self.fault is None:
                self.fault_since = i.now
            self.fault, self.fault_info = fault

    def _set_contactors(self, closed: bool, i: Inputs) -> SetContactors:
        if closed != self.contactor_cmd:
            self.contactor_cmd = closed
            self.contactor_cmd_since = i.now
            self.contactor_cmd_since_wall = i.wall
        return SetContactors(self.connector_id, closed)

    def _since_contactor_cmd(self, i: Inputs) -> float:
        """How long the contactor command has stood. At power-up the command (open) is
        given by the first tick: feedback still showing the state from before a power
        cut gets the same settle time as after any other command."""
        if self.contactor_cmd_since is None:
            self.contactor_cmd_since, self.contactor_cmd_since_wall = i.now, i.wall
        if i.wall is not None and self.contactor_cmd_since_wall is not None:
            return i.wall - self.contactor_cmd_since_wall
        return i.now - self.contactor_cmd_since

    def _drive_power(self, i: Inputs) -> list[Action]:
        cid = self.connector_id
        lim = self.limits
        ev = i.ev
        if self.fault is not None or not self.operative and not self.tx_active:
            duty: float | None = 0.0  # state F: EVSE not available
        elif self.plugged:
            duty = DIGITAL_COMMUNICATION_DUTY
        else:
            duty = None
        charging = self.tx_active and not self.stopping and self.fault is None
        voltage = current = 0.0
        isolation_valid = False
        close = False
        if charging and ev.stage == HlcStage.CABLE_CHECK:
            close = True
            # The isolation test runs at the EV's maximum voltage (its CableCheck target).
            voltage = min(ev.target_voltage_v or lim.cable_check_voltage_v, lim.max_voltage_v)
            current = CABLE_CHECK_CURRENT_A
            isolation_valid = (
                i.power.contactors_closed
                and i.power.output_voltage_v >= 0.9 * voltage
                and not i.power.isolation_fault
            )
        elif charging and ev.stage == HlcStage.PRE_CHARGE:
            close = True
            voltage = min(ev.target_voltage_v, lim.max_voltage_v)
            current = PRE_CHARGE_CURRENT_A
            isolation_valid = True
        elif charging and ev.stage == HlcStage.CURRENT_DEMAND:
            close = True
            voltage = min(ev.target_voltage_v, lim.max_voltage_v)
            present = max(i.power.output_voltage_v, voltage, 1.0)
            current = max(
                0.0, min(ev.target_current_a, lim.max_current_a, lim.max_power_w / present)
            )
            if self.limit_a is not None:
                current = min(current, max(0.0, self.limit_a))
            if self.evse_suspended:
                current = 0.0
            isolation_valid = True
        else:
            # Bring the current down before the contactors open: never break under load.
            close = self.contactor_cmd and abs(i.power.output_current_a) >= STOP_CURRENT_A
            if (
                not self.plugged
                or self.fault in EMERGENCY_FAULTS
                or i.power.emergency_stop
                or self.fault is not None
                and i.now - self.fault_since > FAULT_OPEN_S
            ):
                close = False
        self.offered_current_a = current
        self.duty_cmd = duty
        if self.fault is not None:
            status = EvseStatus.EMERGENCY_SHUTDOWN
        elif self.stopping or not self.tx_active:
            status = EvseStatus.SHUTDOWN if self.tx_active else EvseStatus.READY
        else:
            status = EvseStatus.READY
        command = EvseCommand(
            status=status,
            authorized=self.tx_active and not self.stopping,
            isolation_valid=isolation_valid,
            stop_requested=bool(self.stopping) or self.fault is not None,
            max_current_a=lim.max_current_a,
            max_voltage_v=lim.max_voltage_v,
            max_power_w=lim.max_power_w,
        )
        return [  # the module is set before the contactors: current first, then copper
            SetDuty(cid, duty),
            SetOutput(cid, voltage, current),
            self._set_contactors(close, i),
            SetEvse(cid, command),
        ]

    def _status(self, i: Inputs) -> SendStatus:
        cid = self.connector_id
        if self.fault is not None:
            return SendStatus(cid, "Faulted", self.fault, self.fault_info)
        if self.tx_active:
            if i.power.contactors_closed and i.ev.stage in ENERGY_STAGES:
                if (
                    i.ev.stage == HlcStage.CURRENT_DEMAND
                    and self.offered_current_a <= 0
                    and not self.stopping
                ):
                    return SendStatus(cid, "SuspendedEVSE")
                return SendStatus(cid, "Charging")
            if not self.energized and not i.ev.charging_complete:
                return SendStatus(cid, "Preparing")
            return SendStatus(cid, "SuspendedEV")
        if not self.operative:
            return SendStatus(cid, "Unavailable")  # a scheduled change wins over Finishing
        if self.finishing:
            return SendStatus(cid, "Finishing")
        if self.plugged or self.authorized_tag is not None:
            return SendStatus(cid, "Preparing")
        if self.held() is not None:
            return SendStatus(cid, "Reserved")
        return SendStatus(cid, "Available")
