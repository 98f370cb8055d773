"""Reservation: the Central System reserves connectors (or the charge point) and cancels."""

from __future__ import annotations

from typing import Any

from bench.scenarios.csms_optional.steps import check_status, optional_case, reported
from bench.scenarios.csms_role import CsmsHandle, OperatorRequest, parse_ocpp_time

CONNECTOR = 1
#: The expiry the operator asks for in 047 (simulated seconds from now).
EXPIRE_AFTER_S = 20
#: Longest a case waits for a DUT's own expiry to pass.
MAX_EXPIRY_WAIT_S = 120


async def reserve(
    t: CsmsHandle,
    connector: int,
    answered: str = "Accepted",
    id_tag: str | None = None,
    expiry_date: str | None = None,
) -> tuple[OperatorRequest, dict[str, Any]]:
    """The operator reserves ``connector`` for ``id_tag``; checks the ReserveNow.req."""
    id_tag = id_tag or t.tags.valid
    # Accepted is the charge point's own answer: it then holds the reservation.
    t.answer("ReserveNow", None if answered == "Accepted" else {"status": answered})
    request, sent = await t.operated(
        t.operator.reserve_now(connector, id_tag, expiry_date=expiry_date),
        "ReserveNow",
        {"connectorId": connector},
    )
    t.answer("ReserveNow", None)
    t.check(
        sent.get("idTag") == id_tag,
        f"the CSMS's ReserveNow has idTag {sent.get('idTag')!r}, the operator chose {id_tag}",
    )
    t.check(isinstance(sent.get("reservationId"), int), "ReserveNow.req has no reservationId")
    expiry = parse_ocpp_time(sent.get("expiryDate"))
    t.check(expiry is not None, f"ReserveNow.req expiryDate {sent.get('expiryDate')!r} is invalid")
    assert expiry is not None
    t.check(
        expiry > t.clock.now(),
        f"the CSMS's ReserveNow expires at {sent['expiryDate']}, which is not in the future",
    )
    await reported(t, request, "ReserveNow", answered)
    t.details["reservation_id"] = sent["reservationId"]
    return request, sent


def check_reservation(t: CsmsHandle, reservation_id: int, status: str) -> None:
    """Our CSMS holds the reservation in ``status`` (external DUTs: not visible)."""
    if not t.operator.local:
        return
    rows = t.operator.csms.reservations(t.cp_id)  # type: ignore[attr-defined]
    found = [r for r in rows if r["id"] == reservation_id]
    t.check(bool(found), f"the CSMS has no reservation {reservation_id}")
    t.check(
        found[0]["status"] == status,
        f"the CSMS shows reservation {reservation_id} as {found[0]['status']}, not {status}",
    )


async def start_reserved(
    t: CsmsHandle, connector: int, reservation_id: int, id_tag: str | None = None
) -> int:
    """The reserving driver starts charging on ``connector`` with the reservation."""
    id_tag = id_tag or t.tags.valid
    t.expect_empty_conf("StatusNotification", await t.status(connector, "Preparing"))
    start = await t.start_transaction(connector, id_tag, reservation_id=reservation_id)
    t.expect_id_tag_status("StartTransaction", id_tag, start.get("idTagInfo"), "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(connector, "Charging"))
    return start["transactionId"]


@optional_case("TC_046_CSMS", "Reservation of a Connector - Transaction", "reservation")
async def tc_046_reserve_connector(t: CsmsHandle) -> None:
    """The operator reserves connector 1; the reserving driver then charges on it.

    ReserveNow.req (connector 1, the valid idTag, an expiryDate in the future) is
    accepted; Reserved is acknowledged; Authorize is Accepted; StartTransaction with
    the reservationId gets a transactionId with idTagInfo Accepted.
    """
    await t.booted()
    _, sent = await reserve(t, CONNECTOR)
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Reserved"))
    await t.authorized()
    tx = await start_reserved(t, CONNECTOR, sent["reservationId"])
    check_reservation(t, sent["reservationId"], "Used")
    t.details["transaction_id"] = tx


@optional_case("TC_047_CSMS", "Reservation of a Connector - Expire", "reservation")
async def tc_047_reservation_expires(t: CsmsHandle) -> None:
    """A reservation nobody uses expires: Reserved, then Available at expiryDate.

    The operator reserves connector 1 for a short time; the charge point accepts and
    reports Reserved; at the expiryDate it reports Available, which the CSMS
    acknowledges (and, ours, shows the reservation as Expired).
    """
    await t.booted()
    _, sent = await reserve(t, CONNECTOR, expiry_date=t.now(EXPIRE_AFTER_S))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Reserved"))
    expiry = parse_ocpp_time(sent["expiryDate"])
    assert expiry is not None
    wait = (expiry - t.clock.now()).total_seconds()
    t.step(f"reservation runs until {sent['expiryDate']}")
    await t.sleep(min(max(wait, 0) + 0.5, MAX_EXPIRY_WAIT_S))
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
    if wait <= MAX_EXPIRY_WAIT_S:
        check_reservation(t, sent["reservationId"], "Expired")


async def reserve_refused(t: CsmsHandle, answered: str, before: Any = None) -> None:
    """The charge point refuses the reservation with ``answered``: the CSMS reports that
    refusal to its operator and keeps no live reservation (ours records the refusal)."""
    await t.booted()
    if before is not None:
        await before(t)
    _, sent = await reserve(t, CONNECTOR, answered)
    t.details["answered"] = answered
    check_reservation(t, sent["reservationId"], answered)


async def _faulted(t: CsmsHandle) -> None:
    t.expect_empty_conf(
        "StatusNotification", await t.status(CONNECTOR, "Faulted", error_code="OtherError")
    )


async def _occupied(t: CsmsHandle) -> None:
    await t.charging(CONNECTOR)


async def _unavailable(t: CsmsHandle) -> None:
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Unavailable"))


@optional_case("TC_048_1_CSMS", "Reservation of a Connector - Faulted", "reservation")
async def tc_048_1_faulted(t: CsmsHandle) -> None:
    """Reserving a Faulted connector: the charge point answers Faulted; the CSMS takes it."""
    await reserve_refused(t, "Faulted", _faulted)


@optional_case("TC_048_2_CSMS", "Reservation of a Connector - Occupied", "reservation")
async def tc_048_2_occupied(t: CsmsHandle) -> None:
    """Reserving a connector in use: the charge point answers Occupied."""
    await reserve_refused(t, "Occupied", _occupied)


@optional_case("TC_048_3_CSMS", "Reservation of a Connector - Unavailable", "reservation")
async def tc_048_3_unavailable(t: CsmsHandle) -> None:
    """Reserving an Unavailable connector: the charge point answers Unavailable."""
    await reserve_refused(t, "Unavailable", _unavailable)


@optional_case("TC_048_4_CSMS", "Reservation of a Connector - Rejected", "reservation")
async def tc_048_4_rejected(t: CsmsHandle) -> None:
    """The charge point does not take reservations: it answers Rejected. The connector is
    not held for anyone: another idTag then starts a transaction on it, Accepted."""
    await reserve_refused(t, "Rejected")
    other = t.tags.valid2
    await t.authorized(other)
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Preparing"))
    start = await t.start_transaction(CONNECTOR, other)
    t.expect_id_tag_status("StartTransaction", other, start.get("idTagInfo"), "Accepted")


@optional_case("TC_049_CSMS", "Reservation of a Charge Point - Transaction", "reservation")
async def tc_049_reserve_charge_point(t: CsmsHandle) -> None:
    """The operator reserves the charge point (connector 0); the driver charges on connector 1.

    ReserveNow.req for connector 0 is accepted; Authorize is Accepted; StartTransaction
    on connector 1 with the reservationId gets idTagInfo Accepted.
    """
    await t.booted()
    _, sent = await reserve(t, 0)
    await t.authorized()
    tx = await start_reserved(t, CONNECTOR, sent["reservationId"])
    check_reservation(t, sent["reservationId"], "Used")
    t.details["transaction_id"] = tx


@optional_case("TC_051_CSMS", "Cancel Reservation", "reservation")
async def tc_051_cancel(t: CsmsHandle) -> None:
    """A reservation is cancelled: CancelReservation.req with its reservationId, Accepted.

    After the accepted reservation (Reserved acknowledged), the operator cancels it;
    the CSMS sends CancelReservation.req for that reservationId; the charge point
    accepts and reports Available.
    """
    await t.booted()
    _, sent = await reserve(t, CONNECTOR)
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Reserved"))
    rid = sent["reservationId"]
    request, _ = await t.operated(
        t.operator.cancel_reservation(rid), "CancelReservation", {"reservationId": rid}
    )
    await reported(t, request, "CancelReservation", "Accepted")
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Available"))
    check_reservation(t, rid, "Cancelled")


@optional_case("TC_052_CSMS", "Cancel Reservation - Rejected", "reservation")
async def tc_052_cancel_rejected(t: CsmsHandle) -> None:
    """Cancelling a reservation the charge point does not have: it answers Rejected.

    The operator cancels reservation id 4242 (never made); the CSMS forwards
    CancelReservation.req with that id and takes the Rejected answer.
    """
    await t.booted()
    t.answer("CancelReservation", {"status": "Rejected"})
    request, _ = await t.operated(
        t.operator.cancel_reservation(4242), "CancelReservation", {"reservationId": 4242}
    )
    await reported(t, request, "CancelReservation", "Rejected")


@optional_case("TC_053_CSMS", "Use a reserved Connector with parentIdTag", "reservation")
async def tc_053_reserved_parent(t: CsmsHandle) -> None:
    """A connector reserved for one idTag is used by another idTag of the same group.

    ReserveNow.req for connector 1 and the valid idTag (parent: the group's idTag; a
    parentIdTag, if sent, must be it) is accepted; Reserved is acknowledged. A second
    idTag with the same parent presents itself: Authorize must be answered Accepted
    with that parentIdTag (so the charge point can match the reservation), and
    StartTransaction with the reservationId is accepted.
    """
    await t.booted()
    _, sent = await reserve(t, CONNECTOR)
    if "parentIdTag" in sent:
        t.check(
            sent["parentIdTag"] == t.tags.parent,
            f"the CSMS's ReserveNow has parentIdTag {sent['parentIdTag']!r}, the idTag's parent "
            f"is {t.tags.parent}",
        )
    t.expect_empty_conf("StatusNotification", await t.status(CONNECTOR, "Reserved"))
    info = await t.authorize(t.tags.valid2)
    t.expect_id_tag_status("Authorize", t.tags.valid2, info, "Accepted")
    check_status(
        t,
        f"the parentIdTag the CSMS gave for {t.tags.valid2}",
        info.get("parentIdTag"),
        t.tags.parent,
    )
    await start_reserved(t, CONNECTOR, sent["reservationId"], t.tags.valid2)
    check_reservation(t, sent["reservationId"], "Used")
