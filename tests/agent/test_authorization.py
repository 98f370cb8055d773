"""Authorization rules, without a CSMS."""

from datetime import UTC, datetime, timedelta

from charger.agent.authorization import is_valid, may_stop, offline_decision

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LATER = (NOW + timedelta(days=1)).isoformat().replace("+00:00", "Z")
EARLIER = (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z")


def test_expiry():
    assert is_valid({"status": "Accepted", "expiryDate": LATER}, NOW)
    assert not is_valid({"status": "Accepted", "expiryDate": EARLIER}, NOW)
    assert not is_valid({"status": "Blocked"}, NOW)


def test_offline_uses_the_cache_only_when_allowed():
    cached = {"status": "Accepted"}
    assert (
        offline_decision(cached, NOW, local_authorize_offline=True, allow_unknown=False)["status"]
        == "Accepted"
    )
    assert (
        offline_decision(cached, NOW, local_authorize_offline=False, allow_unknown=False)["status"]
        == "Invalid"
    )
    expired = {"status": "Accepted", "expiryDate": EARLIER}
    assert (
        offline_decision(expired, NOW, local_authorize_offline=True, allow_unknown=True)["status"]
        == "Expired"
    )


def test_unknown_tags_offline():
    assert (
        offline_decision(None, NOW, local_authorize_offline=True, allow_unknown=True)["status"]
        == "Accepted"
    )
    assert (
        offline_decision(None, NOW, local_authorize_offline=True, allow_unknown=False)["status"]
        == "Invalid"
    )
    blocked = {"status": "Blocked"}  # known and blocked is not "unknown"
    assert (
        offline_decision(blocked, NOW, local_authorize_offline=True, allow_unknown=True)["status"]
        == "Blocked"
    )


def test_parent_id_tag_may_stop():
    assert may_stop("AAA", None, "aaa", None)
    assert may_stop("BBB", "GROUP", "AAA", "GROUP")
    assert not may_stop("BBB", "OTHER", "AAA", "GROUP")
    assert not may_stop("BBB", None, "AAA", None)
