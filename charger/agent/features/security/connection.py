"""How the agent connects: the ConnectionPlan provider of the security feature.

The uplink asks :meth:`ConnectionPlanner.next_attempt` for a :class:`Connection` (URL,
TLS context, headers) before every attempt and reports its outcome to
:meth:`ConnectionPlanner.outcome` (the uplink's ``ConnectionPlan``). The
profile in force (:mod:`.profiles`), not the URL in the settings, decides the scheme
and the credentials; a TLS failure is refused (no connection) and recorded as the
whitepaper's event (ed. 3, TLS of profiles 2/3: InvalidCentralSystemCertificate, InvalidTLSVersion,
InvalidTLSCipherSuite), once per run of failures.
"""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from charger.agent.features.security.certificates import CS_ROOT, CertificateStore
from charger.agent.features.security.events import SecurityLog
from charger.agent.features.security.profiles import (
    ProfileMachine,
    ProfileState,
    basic_auth,
    scheme,
)
from charger.agent.uplink import Connection
from charger.protocol.tls import charge_point_ssl_context

log = logging.getLogger("charger.agent.security")

PENDING_KEY = "_SecurityProfilePending"
ATTEMPTS_KEY = "_SecurityProfileAttempts"
FAILING_SINCE_KEY = "_SecurityProfileFailingSince"

_VERSION_REASONS = {
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "VERSION_TOO_LOW",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
}
_CIPHER_REASONS = {"NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "SSLV3_ALERT_HANDSHAKE_FAILURE"}


def tls_event(error: BaseException | None) -> str | None:
    """The security event a failed connection stands for, if it is a TLS one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLCertVerificationError):
            return "InvalidCentralSystemCertificate"
        if isinstance(error, ssl.SSLError):
            reason = getattr(error, "reason", None) or ""
            if reason in _VERSION_REASONS:
                return "InvalidTLSVersion"
            if reason in _CIPHER_REASONS:
                return "InvalidTLSCipherSuite"
            return None
        error = error.__cause__ or error.__context__
    return None


def _status_code(error: BaseException | None) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


class ConnectionPlanner:
    """Security profile, URL, TLS context and credentials for the next connection."""

    def __init__(
        self,
        settings: Any,
        config: Any,
        certificates: CertificateStore,
        security_log: SecurityLog,
        now_iso: Callable[[], str],
        now: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.config = config
        self.certificates = certificates
        self.security_log = security_log
        self.now_iso = now_iso
        self.now = now  # simulated seconds (the fallback's grace period)
        self._reported: set[str] = set()  # events of the current run of failures
        self.last_profile: int | None = None
        self._attempt: tuple[int, str | None] | None = None  # (profile, key) being tried
        #: (profile, Basic-auth key) of the connection that is open, None when there is none
        self.open_with: tuple[int, str | None] | None = None

    # --- the profile state, persisted in the config table --------------------------------

    def machine(self) -> ProfileMachine:
        values = self.config.values
        pending = values.get(PENDING_KEY)
        since = values.get(FAILING_SINCE_KEY)
        return ProfileMachine(
            ProfileState(
                current=self.config.int("SecurityProfile"),
                pending=int(pending) if pending not in (None, "") else None,
                attempts=int(values.get(ATTEMPTS_KEY) or 0),
                failing_since=float(since) if since not in (None, "") else None,
            )
        )

    def save(self, machine: ProfileMachine) -> None:
        s = machine.state
        if str(s.current) != self.config.get("SecurityProfile"):
            self.config.set_internal("SecurityProfile", str(s.current))
        self.config.set_internal(PENDING_KEY, "" if s.pending is None else str(s.pending))
        self.config.set_internal(ATTEMPTS_KEY, str(s.attempts))
        since = "" if s.failing_since is None else repr(s.failing_since)
        self.config.set_internal(FAILING_SINCE_KEY, since)

    # --- the ConnectionPlan provider -------------------------------------------------------

    def url(self, profile: int) -> str:
        """The Central System's URL for ``profile`` with the charge point id appended."""
        urls = getattr(self.settings, "csms_urls", None) or {}
        base = urls.get(str(profile))
        if base is None:  # one server for every profile: follow the profile's scheme
            parts = urlsplit(self.settings.csms_url)
            base = urlunsplit((scheme(profile), *parts[1:]))
        return base.rstrip("/") + "/" + quote(self.settings.charge_point_id, safe="")

    def next_attempt(self) -> Connection:
        """Never raises: a store it cannot use gives an attempt that fails (and counts)."""
        try:
            url, context, headers = self.plan()
        except (OSError, ValueError, ssl.SSLError) as exc:
            log.error("cannot prepare the connection with profile %s: %s", self.last_profile, exc)
            url = self.url(self.last_profile or 0)
            context = charge_point_ssl_context("", None) if url.startswith("wss") else None
            headers = {}
        return Connection(url, context, headers)

    def outcome(self, connection: Connection, error: BaseException | None) -> None:
        self.connected(error is None, error)

    def needs_reconnect(self) -> bool:
        """Whether the open connection (if any) uses another profile or key than the
        next attempt would: after ChangeConfiguration, only then is it worth dropping."""
        profile = self.machine().in_use()
        key = self.config.get("AuthorizationKey") if basic_auth(profile) else None
        return self.open_with is not None and self.open_with != (profile, key)

    def plan(self) -> tuple[str, ssl.SSLContext | None, dict[str, str]]:
        profile = self.machine().in_use()
        self.last_profile = profile
        headers: dict[str, str] = {}
        password = self.config.get("AuthorizationKey")
        self._attempt = (profile, password if basic_auth(profile) else None)
        if basic_auth(profile) and password:
            raw = f"{self.settings.charge_point_id}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        context = None
        if profile >= 2:
            roots = self.certificates.roots_pem(CS_ROOT)
            client = self.certificates.client_cert_files() if profile == 3 else None
            if not roots:  # nothing vouches for any server: the handshake fails (event)
                log.error("no CentralSystemRootCertificate installed: no server is trusted")
            context = charge_point_ssl_context(roots, client)
        return self.url(profile), context, headers

    def connected(self, ok: bool, error: BaseException | None = None) -> None:
        """The outcome of the attempt :meth:`plan` prepared (``error`` when it failed)."""
        machine = self.machine()
        change = machine.connected(ok, self.now())
        if change is not None or machine.state.pending is not None:
            self.save(machine)
        if change == "raised":
            log.info("security profile %s in force", machine.state.current)
        elif change == "fell back":
            log.warning(
                "could not connect with the new security profile; back to profile %s",
                machine.state.current,
            )
        if ok:
            self._reported.clear()
            self.open_with = self._attempt
            return
        self.open_with = None
        event = tls_event(error)
        if event is None and _status_code(error) == 401:
            event = "FailedToAuthenticateAtCentralSystem"
        if event is not None and event not in self._reported:
            self._reported.add(event)
            self.security_log.record(event, self.now_iso(), _describe(error))


def _describe(error: BaseException | None) -> str | None:
    if error is None:
        return None
    return f"{type(error).__name__}: {error}"
