"""Security profiles 0-3 as a pure state machine: which profile the next connection uses.

Whitepaper "Improved security for OCPP 1.6-J" ed. 3, security profiles and use case A05
(Upgrade Charge Point Security Profile):

* the profile in force is the SecurityProfile key; it drives the channel (0/1 ws,
  2/3 wss) and the credentials (1/2 Basic, 3 client certificate), not the URL;
* ChangeConfiguration SecurityProfile may only raise it; lowering is refused
  (lab case 084);
* before accepting, the charge point checks the prerequisites: for 2, an installed
  CentralSystemRootCertificate; for 3, also a valid ChargePointCertificate;
* once accepted it disconnects and reconnects with the new profile; if it cannot
  connect with it, it falls back to the old one (and the new one never comes into
  force).

Nothing here does I/O: the feature persists :attr:`ProfileMachine.state` and asks it.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILES = (0, 1, 2, 3)
#: A newly accepted profile is given up (back to the old one) only after this many failed
#: connections spread over at least NEW_PROFILE_GRACE_S: a Central System may restart its
#: server for the new profile first (the lab tool does in TC_083_CS, and expects no
#: reconnection with the old profile meanwhile).
NEW_PROFILE_ATTEMPTS = 3
NEW_PROFILE_GRACE_S = 60.0


def scheme(profile: int) -> str:
    """Profiles 0 and 1 are plain WebSocket, 2 and 3 are TLS."""
    return "wss" if profile >= 2 else "ws"


def basic_auth(profile: int) -> bool:
    """Profiles 1 and 2 authenticate with HTTP Basic (AuthorizationKey); 3 by certificate."""
    return profile in (1, 2)


def refusal(current: int, wanted: int, has_cs_root: bool, has_cp_cert: bool) -> str | None:
    """Why ChangeConfiguration SecurityProfile=wanted is Rejected, or None to accept."""
    if wanted not in PROFILES:
        return f"no security profile {wanted}"
    if wanted < current:
        return f"lowering the profile from {current} to {wanted} is forbidden"
    if wanted >= 2 and not has_cs_root:
        return f"profile {wanted} needs an installed CentralSystemRootCertificate"
    if wanted == 3 and not has_cp_cert:
        return "profile 3 needs a valid ChargePointCertificate"
    return None


@dataclass
class ProfileState:
    current: int
    pending: int | None = None  # accepted, not yet connected with
    attempts: int = 0  # failed connections with ``pending``
    failing_since: float | None = None  # when the first of them failed


class ProfileMachine:
    def __init__(self, state: ProfileState) -> None:
        self.state = state

    def in_use(self) -> int:
        """The profile the next connection attempt uses."""
        s = self.state
        return s.pending if s.pending is not None else s.current

    def request(self, wanted: int, has_cs_root: bool, has_cp_cert: bool) -> tuple[str, str | None]:
        """ChangeConfiguration SecurityProfile: (Accepted | Rejected, why refused)."""
        why = refusal(self.state.current, wanted, has_cs_root, has_cp_cert)
        if why is not None:
            return "Rejected", why
        if wanted != self.state.current:
            self.state.pending = wanted
            self.state.attempts, self.state.failing_since = 0, None
        return "Accepted", None

    def connected(self, ok: bool, now: float) -> str | None:
        """The outcome of a connection attempt with :meth:`in_use` at ``now`` (seconds);
        what changed: ``"raised"`` (the new profile is in force), ``"fell back"`` or None."""
        s = self.state
        if s.pending is None:
            return None
        if ok:
            s.current, s.pending, s.attempts, s.failing_since = s.pending, None, 0, None
            return "raised"
        s.attempts += 1
        if s.failing_since is None:
            s.failing_since = now
        if s.attempts >= NEW_PROFILE_ATTEMPTS and now - s.failing_since >= NEW_PROFILE_GRACE_S:
            s.pending, s.attempts, s.failing_since = None, 0, None
            return "fell back"
        return None
