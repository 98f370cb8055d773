"""The station's rules without sockets: tag routing, reservations, availability, debounce."""

from datetime import UTC, datetime

from charger.agent.commands import SendStatus
from charger.agent.connector import ConnectorLogic, reservation_matches
from charger.agent.station import Station, StatusDebounce


def station(*ids: int) -> Station:
    return Station({cid: ConnectorLogic(cid) for cid in ids or (1, 2)})


def reservation(rid: int, cid: int, tag: str = "R1", parent: str | None = None) -> dict:
    return {
        "reservation_id": rid,
        "connector_id": cid,
        "id_tag": tag,
        "parent": parent,
        "expiry": "2030-01-01T00:00:00Z",
    }


def test_an_accepted_tag_goes_to_the_plugged_connector():
    s = station()
    s.connectors[2].plugged = True
    s.present("TAG", now=0.0)
    assert s.route_pending_tag(1.0, 60, {}) is None
    assert s.connectors[2].authorized_tag == "TAG" and s.connectors[1].authorized_tag is None
    assert s.pending_tag is None


def test_with_two_free_connectors_the_tag_waits_for_a_plug_then_times_out():
    s = station()
    s.present("TAG", now=0.0)
    s.route_pending_tag(1.0, 60, {})
    assert s.pending_tag is not None  # nowhere yet: both are free
    s.route_pending_tag(61.0, 60, {})
    assert s.pending_tag is None  # ConnectionTimeOut
    assert all(c.authorized_tag is None for c in s.connectors.values())


def test_the_only_free_connector_takes_the_tag_at_once():
    s = station()
    s.connectors[1].tx_active = True
    s.present("TAG", now=0.0)
    s.route_pending_tag(0.1, 60, {})
    assert s.connectors[2].authorized_tag == "TAG"


def test_connector_zero_reservation_keeps_the_last_free_connector():
    s = station()
    s.hold(reservation(5, 0, tag="OWNER"))
    s.connectors[1].tx_active = True
    s.place_station_reservation()
    assert s.connectors[2].station_reservation is not None
    s.present("OTHER", now=0.0)
    s.route_pending_tag(0.1, 60, {})
    assert s.connectors[2].authorized_tag is None  # kept for the reservation
    s.pending_tag = None
    s.present("owner", now=0.0)  # idTags are CiString
    s.route_pending_tag(0.1, 60, {})
    assert s.connectors[2].authorized_reservation == 5  # redeemed when its tx starts
    s.started(5)
    assert s.reservation is None


def test_connector_zero_reservation_redeemed_on_any_free_connector():
    s = station()
    s.hold(reservation(5, 0, tag="OWNER"))
    s.place_station_reservation()  # two free: neither is Reserved yet
    s.connectors[1].plugged = True
    s.present("OWNER", now=0.0)
    assert s.route_pending_tag(0.1, 60, {}) == 5  # redeemed: the caller deletes it
    assert s.connectors[1].authorized_reservation == 5 and s.reservation is None


def test_reserve_now_answers():
    s = station()
    assert s.reserve_now(1, 1, zero_supported=True) == "Accepted"
    assert s.reserve_now(1, 1, zero_supported=True, refuse=True) == "Rejected"
    assert s.reserve_now(0, 2, zero_supported=False) == "Rejected"
    assert s.reserve_now(9, 3, zero_supported=True) == "Rejected"
    s.connectors[1].fault = "OtherError"
    assert s.reserve_now(1, 4, zero_supported=True) == "Faulted"
    s.connectors[2].operative = False
    assert s.reserve_now(2, 5, zero_supported=True) == "Unavailable"
    s.connectors[1].fault = None
    s.hold(reservation(6, 1))
    assert s.reserve_now(1, 7, zero_supported=True) == "Occupied"
    assert s.reserve_now(1, 6, zero_supported=True) == "Accepted"  # same id: replaces


def test_reservations_are_redeemed_by_tag_or_parent_whatever_the_case():
    r = reservation(1, 1, tag="ABC", parent="GROUP")
    assert reservation_matches(r, "abc", None)
    assert reservation_matches(r, "XYZ", "group")
    assert not reservation_matches(r, "XYZ", None)
    assert not reservation_matches(r, "XYZ", "OTHER")


def test_a_reserved_connector_blocks_other_cards_but_not_its_own():
    s = station()
    s.connectors[1].plugged = True
    s.hold(reservation(1, 1, tag="OWNER"))
    assert s.blocked_by_reservation("STRANGER", None)
    assert not s.blocked_by_reservation("OWNER", None)


def test_remote_start_decisions():
    s = station()
    assert s.remote_start("T", 9, None).status == "Rejected"
    assert s.remote_start("T", 1, None).connector is s.connectors[1]
    s.connectors[2].plugged = True
    assert s.remote_start("T", None, None).connector is s.connectors[2]
    s.hold(reservation(1, 1, tag="OTHER", parent="GROUP"))
    learn = s.remote_start("T", 1, None)
    assert learn.status == "Accepted" and learn.learn_parent  # Authorize tells
    assert s.remote_start("T", 1, "ELSEWHERE").status == "Rejected"


def test_unavailable_is_scheduled_during_a_transaction():
    s = station()
    s.connectors[1].tx_active = True
    assert s.change_availability(1, False) == ("Scheduled", [1])
    assert s.change_availability(2, False) == ("Accepted", [2])
    assert s.change_availability(7, False) == ("Rejected", [])
    assert s.status() == "Available"  # connector 1 is operative until its tx ends


def test_expired_reservations():
    now = datetime(2031, 1, 1, tzinfo=UTC)
    gone = reservation(1, 1) | {"expiry": "2030-12-31T23:59:59Z"}
    kept = reservation(2, 1) | {"expiry": "2031-01-01T00:00:01Z"}
    assert Station.expired([gone, kept], now) == [1]


def test_status_debounce_waits_drops_flaps_and_holds_offline():
    d = StatusDebounce()
    d.changed(SendStatus(1, "Preparing"), now=0.0)
    assert d.due(1.0, hold=5, online=True) == []
    assert [s.status for s in d.due(5.0, hold=5, online=True)] == ["Preparing"]
    d.changed(SendStatus(1, "Available"), now=6.0)
    d.changed(SendStatus(1, "Preparing"), now=6.5)  # and back before the hold ran out
    assert d.due(20.0, hold=5, online=True) == []
    d.changed(SendStatus(1, "Charging"), now=21.0)
    assert d.due(30.0, hold=5, online=False) == []  # offline: sent after the boot
    assert [s.status for s in d.everything("Available")] == ["Available", "Charging"]
