"""Reservation: TC_046_1, TC_046_2, TC_047, TC_048_1..4, TC_049, TC_050_1..4, TC_051,
TC_052, TC_053_1, TC_053_2."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    TAG_2,
    Tx,
    authorizes_of,
    connectors,
    idle,
    plug,
    remote_start,
    start_local,
    start_remote,
    started,
    tolerance,
)
from bench.scenarios.cs_optional.steps import (
    CHILD_1,
    CHILD_2,
    PARENT,
    at,
    new_id,
    request,
    set_unavailable,
    unused_unavailable,
)
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

PROFILE = "profile.reservation"
ZERO = "reservation.connector-zero"  # ReserveConnectorZeroSupported is true
REJECT = "reservation.reject"  # "Key=value": the configuration that makes it refuse reservations
EXPIRY_S = 15
REFUSED_S = 3  # how long a refused idTag is watched for a StartTransaction


async def reserve(
    t: Handle,
    connector: int,
    tag: str = TAG,
    *,
    expect: str = "Accepted",
    expiry_s: float = 600,
    parent: str | None = None,
) -> int:
    """ReserveNow; its status must be ``expect``. Returns the reservationId."""
    rid = new_id()
    await request(
        t,
        call.ReserveNow(
            connector_id=connector,
            expiry_date=at(t, expiry_s),
            id_tag=tag,
            reservation_id=rid,
            parent_id_tag=parent,
        ),
        (expect,),
    )
    return rid


async def reserved(
    t: Handle, connector: int = 1, tag: str = TAG, *, shows: int | None = None, **options
) -> int:
    """The OCTT's reusable state Reserved: ReserveNow Accepted, the connector (for a
    reservation of connector 0: the connector ``shows``) reports Reserved."""
    mark = t.mark()
    rid = await reserve(t, connector, tag, **options)
    await t.expect_status(shows or connector, "Reserved", since=mark)
    return rid


async def refused(t: Handle, connector: int, tag: str, *, authorize: bool = True) -> None:
    """``tag`` is presented at the plugged-in, reserved ``connector``: no transaction
    starts; with ``authorize`` False the charger does not even ask the Central System."""
    mark = t.mark()
    await t.tap(tag)
    await t.sleep(REFUSED_S)
    starts = [f["payload"] for f in t.from_dut(mark, "StartTransaction")]
    t.check(
        not starts,
        f"{tag} started a transaction on connector {connector}, reserved for another idTag: "
        f"{starts[0] if starts else ''}",
    )
    if not authorize:
        t.check(
            not authorizes_of(t, tag, mark),
            f"the charger sent Authorize for {tag} though the only available connector is "
            "reserved for another idTag (and the reservation has no parentIdTag)",
        )


def check_reservation_id(tx: Tx, rid: int | None) -> None:
    have = tx.start.get("reservationId")
    if have != rid:
        want = "no reservationId" if rid is None else f"reservationId {rid}"
        raise ScenarioFailed(f"StartTransaction has reservationId {have}, not {want}")


async def reject_config(t: Handle) -> None:
    """The PICS item reservation.reject: the configuration under which the charger is
    "configured not to accept reservations"."""
    key, _, value = str(t.pics[REJECT]).partition("=")
    t.check(bool(key and value), f"PICS {REJECT} is {t.pics[REJECT]!r}, not Key=value")
    await t.configure(key.strip(), value.strip())


def no_reserved(t: Handle, since: int) -> None:
    reported = [
        f["payload"]
        for f in t.from_dut(since, "StatusNotification")
        if f["payload"].get("status") == "Reserved"
    ]
    t.check(
        not reported,
        f"a refused reservation made the charger report {reported[0] if reported else ''}",
    )


# --- a connector ---------------------------------------------------------------------------


@scenario(
    "TC_046_1_CS",
    "Reservation of a Connector - Local start transaction",
    profile="reservation",
    requires=(PROFILE, "C-07"),
)
async def tc_046_1(t: Handle) -> None:
    """The other connectors Unavailable; ReserveNow for connector 1 and an idTag:
    Accepted, connector 1 Reserved. Another card is presented: no Authorize, no
    transaction. The reservation's idTag is presented (Authorize optional) and the cable
    plugged in: StartTransaction with that idTag and the reservationId, Charging.
    OCPP 1.6 §5.13 Reserve Now, §4.8 (reservationId), §4.9 Reserved."""
    await idle(t)
    await unused_unavailable(t, 1)
    rid = await reserved(t, 1, TAG)
    await refused(t, 1, TAG_2, authorize=False)
    mark = t.mark()
    await t.tap(TAG)
    t.plug(1)
    tx = await started(t, 1, TAG, mark)
    check_reservation_id(tx, rid)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_046_2_CS",
    "Reservation of a Connector - Remote start transaction",
    profile="reservation",
    requires=(PROFILE,),
)
async def tc_046_2(t: Handle) -> None:
    """ReserveNow for connector 1: Accepted, Reserved. The driver plugs in and a
    RemoteStartTransaction for the reservation's idTag on connector 1 follows (Authorize
    as AuthorizeRemoteTxRequests says): StartTransaction with that idTag and the
    reservationId, Charging. OCPP 1.6 §5.13, §5.11, §4.8."""
    await idle(t)
    rid = await reserved(t, 1, TAG)
    tx = await start_remote(t, 1, TAG)
    check_reservation_id(tx, rid)


@scenario(
    "TC_047_CS",
    "Reservation of a Connector - Expire",
    profile="reservation",
    requires=(PROFILE, "C-07"),
)
async def tc_047(t: Handle) -> None:
    """The other connectors Unavailable; ReserveNow for connector 1 expiring in 15 s:
    Accepted, Reserved. Nobody comes: at the expiryDate (within the tolerance) the
    connector reports Available. Another valid idTag then charges on it: StartTransaction
    without a reservationId. OCPP 1.6 §5.13 ("terminated ... when the time specified in
    expiryDate is reached")."""
    await idle(t)
    await unused_unavailable(t, 1)
    mark = t.mark()
    expires = t.clock.time() + EXPIRY_S
    await reserved(t, 1, TAG, expiry_s=EXPIRY_S)
    available = await t.expect_status(1, "Available", within=EXPIRY_S + 15, since=mark)
    late = t.frame_of(available)["ts"] - expires
    t.check(
        -tolerance(t) <= late <= 10,
        f"the reservation ended {late:+.1f} s from its expiryDate",
        timing=True,
    )
    tx = await start_local(t, 1, TAG_2)
    check_reservation_id(tx, None)


@scenario(
    "TC_048_1_CS",
    "Reservation of a Connector - Faulted",
    profile="reservation",
    requires=(PROFILE,),
)
async def tc_048_1(t: Handle) -> None:
    """Connector 1 Faulted (its energy meter stops answering); ReserveNow for it is
    answered Faulted and nothing is reserved. OCPP 1.6 §5.13, §7.42 ReservationStatus."""
    await idle(t)
    mark = t.mark()
    t.meter_fault(1, "timeout")
    await t.expect_status(1, "Faulted", within=20, since=mark)
    mark = t.mark()
    await reserve(t, 1, TAG, expect="Faulted")
    no_reserved(t, mark)


@scenario(
    "TC_048_2_CS",
    "Reservation of a Connector - Occupied",
    profile="reservation",
    requires=(PROFILE,),
)
async def tc_048_2(t: Handle) -> None:
    """Connector 1 occupied (cable plugged in, Preparing); ReserveNow for it is answered
    Occupied and nothing is reserved. OCPP 1.6 §5.13, §7.42."""
    await idle(t)
    await plug(t, 1)
    mark = t.mark()
    await reserve(t, 1, TAG, expect="Occupied")
    no_reserved(t, mark)


@scenario(
    "TC_048_3_CS",
    "Reservation of a Connector - Unavailable",
    profile="reservation",
    requires=(PROFILE,),
)
async def tc_048_3(t: Handle) -> None:
    """ChangeAvailability Inoperative for connector 1: Unavailable; ReserveNow for it is
    answered Unavailable. OCPP 1.6 §5.13, §5.2 ChangeAvailability, §7.42."""
    await idle(t)
    await set_unavailable(t, 1)
    mark = t.mark()
    await reserve(t, 1, TAG, expect="Unavailable")
    no_reserved(t, mark)


@scenario(
    "TC_048_4_CS",
    "Reservation of a Connector - Rejected",
    profile="reservation",
    requires=(PROFILE, REJECT),
)
async def tc_048_4(t: Handle) -> None:
    """The charger is configured not to accept reservations (the configuration named by
    PICS reservation.reject); ReserveNow for connector 1 is answered Rejected and nothing
    is reserved. OCPP 1.6 §5.13 ("Rejected if it is configured not to accept
    reservations")."""
    await idle(t)
    await reject_config(t)
    mark = t.mark()
    await reserve(t, 1, TAG, expect="Rejected")
    no_reserved(t, mark)


# --- the charge point (connector 0) ----------------------------------------------------------


@scenario(
    "TC_049_CS",
    "Reservation of a Charge Point - Transaction",
    profile="reservation",
    requires=(PROFILE, ZERO, "C-07"),
)
async def tc_049(t: Handle) -> None:
    """ReserveConnectorZeroSupported; the other connectors Unavailable. ReserveNow for
    connector 0: Accepted, and connector 1 - the one left - reports Reserved. With the
    cable plugged in, another idTag starts nothing; the reservation's idTag starts a
    transaction on connector 1 with the reservationId. OCPP 1.6 §5.13 (connectorId 0:
    "one connector remains available for the reserved idTag"), §9.5.1."""
    await idle(t)
    await unused_unavailable(t, 1)
    try:
        rid = await reserved(t, 0, TAG, shows=1)
    except ScenarioFailed as exc:
        raise ScenarioFailed(
            f"ReserveNow for connector 0 with every other connector Unavailable: {exc} "
            "(connector 1 is the one left for the reserved idTag)"
        ) from None
    await plug(t, 1)
    await refused(t, 1, TAG_2)
    mark = t.mark()
    await t.tap(TAG)
    tx = await started(t, 1, TAG, mark)
    check_reservation_id(tx, rid)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_050_1_CS",
    "Reservation of a Charge Point - Faulted",
    profile="reservation",
    requires=(PROFILE, ZERO),
)
async def tc_050_1(t: Handle) -> None:
    """The whole charger Faulted (emergency stop pressed: every connector Faulted);
    ReserveNow for connector 0 is answered Faulted. OCPP 1.6 §5.13, §7.42."""
    await idle(t)
    mark = t.mark()
    t.emergency_stop(True)
    for connector in connectors(t):
        await t.expect_status(connector, "Faulted", within=20, since=mark)
    mark = t.mark()
    await reserve(t, 0, TAG, expect="Faulted")
    no_reserved(t, mark)


@scenario(
    "TC_050_2_CS",
    "Reservation of a Charge Point - Occupied",
    profile="reservation",
    requires=(PROFILE, ZERO),
)
async def tc_050_2(t: Handle) -> None:
    """Every connector occupied (cables plugged in, Preparing); ReserveNow for connector
    0 is answered Occupied. OCPP 1.6 §5.13, §7.42."""
    await idle(t)
    for connector in connectors(t):
        await plug(t, connector)
    mark = t.mark()
    await reserve(t, 0, TAG, expect="Occupied")
    no_reserved(t, mark)


@scenario(
    "TC_050_3_CS",
    "Reservation of a Charge Point - Unavailable",
    profile="reservation",
    requires=(PROFILE, ZERO),
)
async def tc_050_3(t: Handle) -> None:
    """ChangeAvailability Inoperative for connector 0: every connector Unavailable;
    ReserveNow for connector 0 is answered Unavailable. OCPP 1.6 §5.13, §5.2, §7.42."""
    await idle(t)
    await set_unavailable(t, 0)
    mark = t.mark()
    await reserve(t, 0, TAG, expect="Unavailable")
    no_reserved(t, mark)


@scenario(
    "TC_050_4_CS",
    "Reservation of a Charge Point - Rejected",
    profile="reservation",
    requires=(PROFILE, ZERO, REJECT),
)
async def tc_050_4(t: Handle) -> None:
    """The charger is configured not to accept reservations (PICS reservation.reject);
    ReserveNow for connector 0 is answered Rejected. OCPP 1.6 §5.13, §7.42."""
    await idle(t)
    await reject_config(t)
    mark = t.mark()
    await reserve(t, 0, TAG, expect="Rejected")
    no_reserved(t, mark)


# --- cancel, parentIdTag ---------------------------------------------------------------------


@scenario("TC_051_CS", "Cancel Reservation", profile="reservation", requires=(PROFILE, "C-07"))
async def tc_051(t: Handle) -> None:
    """Connector 1 Reserved for an idTag; CancelReservation with its reservationId:
    Accepted, connector 1 Available. Another idTag then charges on it: StartTransaction
    without a reservationId. OCPP 1.6 §5.1 Cancel Reservation."""
    await idle(t)
    rid = await reserved(t, 1, TAG)
    mark = t.mark()
    await request(t, call.CancelReservation(reservation_id=rid), ("Accepted",))
    await t.expect_status(1, "Available", since=mark)
    tx = await start_local(t, 1, TAG_2)
    check_reservation_id(tx, None)


@scenario("TC_052_CS", "Cancel Reservation - Rejected", profile="reservation", requires=(PROFILE,))
async def tc_052(t: Handle) -> None:
    """Connector 1 Reserved; CancelReservation with a reservationId the charger does not
    have: Rejected, and the reservation stays (no Available; cancelling it by its own
    reservationId afterwards is Accepted). OCPP 1.6 §5.1 ("Otherwise it SHALL return
    Rejected")."""
    await idle(t)
    rid = await reserved(t, 1, TAG)
    mark = t.mark()
    await request(t, call.CancelReservation(reservation_id=rid + 1), ("Rejected",))
    await t.expect_none(
        "StatusNotification", {"connectorId": 1, "status": "Available"}, during=3, since=mark
    )
    await request(t, call.CancelReservation(reservation_id=rid), ("Accepted",))
    await t.expect_status(1, "Available", since=mark)


async def parent_setup(t: Handle) -> int:
    """Two idTags of one group at the Central System; connector 1 Reserved for the first
    with the group as parentIdTag."""
    t.csms.add_id_tag(CHILD_1, "Accepted", parent=PARENT)
    t.csms.add_id_tag(CHILD_2, "Accepted", parent=PARENT)
    await unused_unavailable(t, 1)
    return await reserved(t, 1, CHILD_1, parent=PARENT)


def parent_asked(t: Handle, since: int, tx: Tx) -> None:
    t.check(
        bool(authorizes_of(t, CHILD_2, since, until=tx.start)),
        f"the charger started {CHILD_2} on the reservation without an Authorize: it cannot "
        "know that idTag's parentIdTag otherwise (§5.13: it SHALL send an Authorize.req)",
    )


@scenario(
    "TC_053_1_CS",
    "Use a reserved Connector with parentIdTag - Local start transaction",
    profile="reservation",
    requires=(PROFILE, "C-07"),
)
async def tc_053_1(t: Handle) -> None:
    """Connector 1 Reserved for idTag 1 with a parentIdTag; idTag 2, of the same parent,
    is presented: the charger asks the Central System (Authorize, which gives the
    parentIdTag) and, the cable plugged in, starts the transaction with the
    reservationId. OCPP 1.6 §5.13 ("except when the incoming idTag or the parent idTag
    match ... the parent idTag of the reservation")."""
    await idle(t)
    rid = await parent_setup(t)
    mark = t.mark()
    await t.tap(CHILD_2)
    await t.expect("Authorize", {"idTag": CHILD_2}, since=mark)
    t.plug(1)
    tx = await started(t, 1, CHILD_2, mark)
    parent_asked(t, mark, tx)
    check_reservation_id(tx, rid)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_053_2_CS",
    "Use a reserved Connector with parentIdTag - Remote start transaction",
    profile="reservation",
    requires=(PROFILE,),
)
async def tc_053_2(t: Handle) -> None:
    """Connector 1 Reserved for idTag 1 with a parentIdTag; cable plugged in;
    RemoteStartTransaction for idTag 2, of the same parent, on connector 1: Accepted, an
    Authorize for idTag 2 (to learn its parentIdTag), StartTransaction with the
    reservationId, Charging. OCPP 1.6 §5.13, §5.11."""
    await idle(t)
    rid = await parent_setup(t)
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 1, CHILD_2)
    tx = await started(t, 1, CHILD_2, mark)
    parent_asked(t, mark, tx)
    check_reservation_id(tx, rid)
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)
