"""The station's decisions as pure logic: which connector a tag goes to, reservations,
connector 0, availability, remote start, and the status debounce.

Like :class:`~charger.agent.connector.ConnectorLogic`, nothing here touches a clock,
a socket or the database: callers pass the time in and carry out what comes back
(persisting a reservation, sending a StatusNotification). The runtime and the
features hold the I/O; this module holds the rules (OCPP 1.6 §3, §5.11, §5.13).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charger.agent.commands import SendStatus
from charger.agent.connector import ConnectorLogic, reservation_matches
from charger.protocol.times import parse_ocpp_time


@dataclass(frozen=True)
class StartDecision:
    """RemoteStartTransaction's answer and, if Accepted, where it goes."""

    status: str  # Accepted | Rejected
    connector: ConnectorLogic | None = None
    #: the connector is reserved for a parentIdTag: Authorize first to learn this tag's
    learn_parent: bool = False


class Station:
    """Connector 0 and the rules that span connectors."""

    def __init__(self, connectors: Mapping[int, ConnectorLogic]) -> None:
        self.connectors = connectors
        self.pending_tag: tuple[str, float] | None = None  # authorized, waiting for a plug
        self.reservation: dict[str, Any] | None = None  # ReserveNow on connector 0

    # --- tags -------------------------------------------------------------------

    def stop_target(self, id_tag: str) -> ConnectorLogic | None:
        """The connector whose transaction this very tag started (a local stop)."""
        for logic in self.connectors.values():
            if logic.tx_active and not logic.stopping and (logic.tx_tag or "").upper() == id_tag:
                return logic
        return None

    def blocked_by_reservation(self, id_tag: str, parent: str | None) -> bool:
        """No connector this card could use: the plugged ones (else every free one) are
        reserved for someone else (OCTT 046_1: no Authorize is sent for such a card)."""

        def held_for_others(c: ConnectorLogic) -> bool:
            held = c.held()
            if held is None or c.holds_reservation_for(id_tag, parent):
                return False
            return not (held.get("parent") and parent is None)  # else: Authorize tells

        free = [c for c in self.connectors.values() if c.is_free()]
        plugged = [c for c in free if c.plugged]
        in_hand = plugged or free  # the connector the driver stands at, else any free one
        return bool(in_hand) and all(held_for_others(c) for c in in_hand)

    def present(self, id_tag: str, now: float) -> None:
        """An accepted tag waits for a connector (routed by :meth:`route_pending_tag`)."""
        self.pending_tag = (id_tag, now)

    def route_pending_tag(
        self, now: float, timeout: float, parent_of: Mapping[str, str | None]
    ) -> int | None:
        """An accepted tag goes to a plugged free connector, else to the only free one.

        Returns the id of a connector-0 reservation the tag redeemed (the caller
        deletes it from storage), else None. ConnectionTimeOut drops the tag.
        """
        if self.pending_tag is None:
            return None
        tag, since = self.pending_tag
        if now - since > timeout:
            self.pending_tag = None
            return None
        parent = parent_of.get(tag)
        free = [c for c in self.connectors.values() if c.accepts(tag, parent)]
        station = self.reservation
        redeems = station is not None and reservation_matches(station, tag, parent)
        if station is not None and not redeems:
            # connector 0 is reserved: someone else may only take a connector if one
            # stays free for the reservation
            free = free if len(free) > 1 else []
        target = next((c for c in free if c.plugged), None)
        if target is None and len(free) == 1:
            target = free[0]  # the only possible connector shows Preparing at once
        if target is None:
            return None
        target.authorize(tag, since, parent)
        self.pending_tag = None
        if redeems and station is not None and target.authorized_reservation is None:
            target.authorized_reservation = station["reservation_id"]
            self.reservation = None
            return int(station["reservation_id"])
        return None

    # --- remote start -------------------------------------------------------------

    def remote_start(
        self, id_tag: str, connector_id: int | None, parent: str | None
    ) -> StartDecision:
        """Where a RemoteStartTransaction goes (§5.11), given what is known of the tag."""
        if connector_id is not None:
            logic = self.connectors.get(connector_id)
            if logic is None:
                return StartDecision("Rejected")
            if logic.accepts(id_tag, parent):
                return StartDecision("Accepted", logic)
            held = logic.held()
            if logic.is_free() and held and held.get("parent") and parent is None:
                # reserved for a parentIdTag: an Authorize tells whether this tag belongs
                return StartDecision("Accepted", logic, learn_parent=True)
            return StartDecision("Rejected")
        free = [c for c in self.connectors.values() if c.accepts(id_tag, parent)]
        logic = next((c for c in free if c.plugged), free[0] if free else None)
        return StartDecision("Accepted", logic) if logic else StartDecision("Rejected")

    # --- reservations -------------------------------------------------------------

    def hold(self, r: Mapping[str, Any]) -> None:
        """Keep a (stored) reservation on its connector, or on connector 0."""
        held = {
            "reservation_id": r["reservation_id"],
            "id_tag": r["id_tag"],
            "parent": r.get("parent"),
            "expiry": r["expiry"],
        }
        if r["connector_id"] == 0:
            self.reservation = held
        elif r["connector_id"] in self.connectors:
            self.connectors[r["connector_id"]].reservation = held

    def reserve_now(
        self, connector_id: int, reservation_id: int, *, zero_supported: bool, refuse: bool = False
    ) -> str:
        """ReserveNow's answer: Accepted, Faulted, Occupied, Rejected or Unavailable (§5.13).

        ``refuse``: the charger is configured not to accept reservations (Rejected).
        """
        if refuse:
            return "Rejected"
        if connector_id == 0:
            if not zero_supported:
                return "Rejected"
            logics = list(self.connectors.values())
        elif connector_id in self.connectors:
            logics = [self.connectors[connector_id]]
        else:
            return "Rejected"
        if all(c.fault is not None for c in logics):
            return "Faulted"
        if all(not c.operative for c in logics):
            return "Unavailable"
        held = [c.reservation for c in logics] + ([self.reservation] if connector_id == 0 else [])
        if any(r is not None and r["reservation_id"] != reservation_id for r in held):
            return "Occupied"
        if not any(c.is_free() and not c.plugged for c in logics):
            return "Occupied"
        return "Accepted"

    def cancel(self, reservation_id: int) -> bool:
        """Drop a held reservation; True if one was held (storage may hold it too)."""
        found = False
        for logic in self.connectors.values():
            if logic.reservation and logic.reservation["reservation_id"] == reservation_id:
                logic.reservation = None
                found = True
        if self.reservation and self.reservation["reservation_id"] == reservation_id:
            self.reservation = None
            found = True
        return found

    def started(self, reservation_id: int | None) -> None:
        """A transaction redeemed ``reservation_id``: connector 0's ends with it."""
        if self.reservation is not None and self.reservation["reservation_id"] == reservation_id:
            self.reservation = None

    def place_station_reservation(self) -> None:
        """A reservation of connector 0 keeps one connector free: when only one is
        left, that one is Reserved (and only the reserved tag may use it)."""
        station = self.reservation
        free = [c for c in self.connectors.values() if c.is_free() and c.reservation is None]
        for logic in self.connectors.values():
            logic.station_reservation = (
                station if station and len(free) == 1 and logic in free else None
            )

    @staticmethod
    def expired(reservations: Sequence[Mapping[str, Any]], now: datetime) -> list[int]:
        """The ids of the stored reservations whose expiryDate has passed."""
        out = []
        for r in reservations:
            expiry = parse_ocpp_time(r["expiry"])
            if expiry is not None and expiry <= now:
                out.append(int(r["reservation_id"]))
        return out

    # --- availability ---------------------------------------------------------------

    def change_availability(self, connector_id: int, operative: bool) -> tuple[str, list[int]]:
        """ChangeAvailability: (Accepted | Scheduled | Rejected, connectors it applies to)."""
        if connector_id == 0:
            targets = list(self.connectors.values())
        elif connector_id in self.connectors:
            targets = [self.connectors[connector_id]]
        else:
            return "Rejected", []
        answers = [logic.change_availability(operative) for logic in targets]
        status = "Scheduled" if "Scheduled" in answers else "Accepted"
        return status, [logic.connector_id for logic in targets]

    def status(self) -> str:
        """Connector 0's status: the station is Available while any connector is operative."""
        operative = any(c.operative for c in self.connectors.values())
        return "Available" if operative else "Unavailable"


class StatusDebounce:
    """StatusNotifications once a status has held for MinimumStatusDuration (§9.1.26)."""

    def __init__(self) -> None:
        self.current: dict[int, SendStatus] = {}  # what each connector is, sent or not
        self.pending: dict[int, tuple[SendStatus, float]] = {}
        self.sent: dict[int, tuple[str, str]] = {}

    def changed(self, status: SendStatus, now: float) -> None:
        self.current[status.connector] = status
        self.pending[status.connector] = (status, now)

    def due(self, now: float, hold: float, online: bool) -> list[SendStatus]:
        """What to send now; offline, nothing is sent (all are sent after the boot)."""
        out = []
        for cid, (status, since) in list(self.pending.items()):
            if self.sent.get(cid) == (status.status, status.error_code):
                del self.pending[cid]  # changed and changed back: nothing to say
                continue
            if now - since < hold:
                continue
            del self.pending[cid]
            if not online:
                continue
            self.sent[cid] = (status.status, status.error_code)
            out.append(status)
        return out

    def everything(self, station: str | SendStatus) -> list[SendStatus]:
        """After a BootNotification is accepted: every connector's status, as sent now."""
        zero = station if isinstance(station, SendStatus) else SendStatus(0, station)
        out = [zero, *(s for c, s in self.current.items() if c != 0)]
        for status in out:
            self.sent[status.connector] = (status.status, status.error_code)
            self.pending.pop(status.connector, None)
        return out
