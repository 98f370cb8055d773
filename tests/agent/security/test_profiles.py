"""Security profiles as a state machine: upgrade checks, pending, fallback, no downgrade."""

from charger.agent.features.security.profiles import (
    NEW_PROFILE_ATTEMPTS,
    NEW_PROFILE_GRACE_S,
    ProfileMachine,
    ProfileState,
    basic_auth,
    scheme,
)


def test_channel_and_credentials_follow_the_profile():
    assert [scheme(p) for p in (0, 1, 2, 3)] == ["ws", "ws", "wss", "wss"]
    assert [basic_auth(p) for p in (0, 1, 2, 3)] == [False, True, True, False]


def test_upgrade_needs_its_prerequisites():
    m = ProfileMachine(ProfileState(current=1))
    assert m.request(2, has_cs_root=False, has_cp_cert=False)[0] == "Rejected"
    assert m.request(3, has_cs_root=True, has_cp_cert=False)[0] == "Rejected"
    assert m.in_use() == 1
    assert m.request(3, has_cs_root=True, has_cp_cert=True) == ("Accepted", None)
    assert m.in_use() == 3 and m.state.current == 1


def test_downgrade_is_refused():
    m = ProfileMachine(ProfileState(current=2))
    status, why = m.request(1, has_cs_root=True, has_cp_cert=True)
    assert status == "Rejected" and "forbidden" in why
    assert m.request(2, True, True) == ("Accepted", None) and m.state.pending is None


def test_the_new_profile_comes_into_force_when_it_connects():
    m = ProfileMachine(ProfileState(current=2))
    m.request(3, True, True)
    assert m.connected(False, 0.0) is None
    assert m.connected(True, 1.0) == "raised"
    assert m.state == ProfileState(current=3)


def test_falls_back_to_the_old_profile_when_the_new_one_cannot_connect():
    m = ProfileMachine(ProfileState(current=1))
    m.request(2, True, False)
    # many quick failures (a server restarting for the new profile) are not enough
    assert [m.connected(False, t) for t in range(NEW_PROFILE_ATTEMPTS + 2)] == [None] * (
        NEW_PROFILE_ATTEMPTS + 2
    )
    assert m.in_use() == 2
    assert m.connected(False, NEW_PROFILE_GRACE_S) == "fell back"
    assert m.in_use() == 1 and m.state == ProfileState(current=1)


def test_the_grace_period_needs_several_attempts_too():
    m = ProfileMachine(ProfileState(current=1))
    m.request(2, True, False)
    assert m.connected(False, 0.0) is None
    assert m.connected(False, 10 * NEW_PROFILE_GRACE_S) is None  # only the second attempt
    assert m.connected(False, 10 * NEW_PROFILE_GRACE_S + 1) == "fell back"
