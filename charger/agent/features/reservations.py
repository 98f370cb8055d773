"""Reservation profile: ReserveNow and CancelReservation (OCPP 1.6 §5.13, §5.3).

The rules are :class:`~charger.agent.station.Station`'s; reservations persist in
SQLite (table ``reservations``) so they outlive a reboot until their expiryDate.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature
from charger.agent.features.diagnostics import checked_times
from charger.agent.station import Station

log = logging.getLogger("charger.agent")


class Reservations(Feature):
    def __init__(self, ctx: Context, station: Station) -> None:
        super().__init__(ctx)
        self.station = station
        for r in ctx.store.reservations():
            station.hold(r)

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ):
        checked_times(expiryDate=expiry_date)
        config = self.ctx.config
        status = self.station.reserve_now(
            connector_id,
            reservation_id,
            zero_supported=config.bool("ReserveConnectorZeroSupported"),
            refuse=not config.bool("ReservationEnabled"),
        )
        if status == "Accepted":
            self.cancel(reservation_id)  # a new ReserveNow with the same id replaces it
            reservation = {
                "reservation_id": reservation_id,
                "connector_id": connector_id,
                "id_tag": id_tag.upper(),
                "parent": parent_id_tag,
                "expiry": expiry_date,
            }
            self.ctx.store.reserve(reservation)
            self.station.hold(reservation)
        return call_result.ReserveNow(status=status)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any):
        found = self.cancel(reservation_id)
        return call_result.CancelReservation(status="Accepted" if found else "Rejected")

    def cancel(self, reservation_id: int) -> bool:
        held = self.station.cancel(reservation_id)
        return self.ctx.store.unreserve(reservation_id) or held

    def tick(self) -> None:
        """Every hardware tick: expire what is due, keep connector 0's reservation placed."""
        for reservation_id in Station.expired(self.ctx.store.reservations(), self.ctx.clock.now()):
            log.info("reservation %s expired", reservation_id)
            self.cancel(reservation_id)
        self.station.place_station_reservation()
