"""The security log and the security events this charger sends.

Whitepaper "Improved security for OCPP 1.6-J" ed. 3, use case A04 (Security events /
logging): every security event is kept in a security log that survives power loss
(table ``security_log``); the critical ones SHALL be sent to the Central System in a
SecurityEventNotification, queued while offline and never dropped. This charger sends
them through the agent's durable outbox (the one transaction messages use), and also
sends the Invalid* events the lab cases 077, 078, 080 and 081 look for; the chatty
ones (failed logins, reconfiguration, invalid messages) stay in the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

#: Whitepaper's list, column "Critical": Yes.
CRITICAL = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
#: Not critical, still sent: what a Central System needs to know about a refusal.
SENT = CRITICAL | {
    "InvalidFirmwareSignature",
    "InvalidFirmwareSigningCertificate",
    "InvalidCentralSystemCertificate",
    "InvalidChargePointCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
}
KNOWN = SENT | {
    "FailedToAuthenticateAtCentralSystem",
    "CentralSystemFailedToAuthenticate",
    "ReconfigurationOfSecurityParameters",
    "InvalidMessages",
    "AttemptedReplayAttacks",
}
TECH_INFO_MAX = 255  # SecurityEventNotification.techInfo is a CiString255
#: The log is bounded like a charger's storage: the oldest entries go first.
LOG_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: str
    type: str
    tech_info: str | None
    critical: bool

    def line(self) -> str:
        flag = "critical" if self.critical else "info"
        info = f" {self.tech_info}" if self.tech_info else ""
        return f"{self.ts} {flag} {self.type}{info}\n"


class SecurityLog:
    """Appends events and hands the ones to send to ``send(payload)`` (the durable outbox)."""

    def __init__(self, db: sqlite3.Connection, send: Callable[[dict[str, str]], None]) -> None:
        """``send(payload)``: queue a SecurityEventNotification (keyword arguments of
        ``ocpp.v16.call.SecurityEventNotification``) in the durable outbox."""
        self.db = db
        self.send = send

    def record(self, kind: str, now_iso: str, tech_info: str | None = None) -> Entry:
        if kind not in KNOWN:
            raise ValueError(f"{kind!r} is not a security event of the whitepaper")
        info = tech_info[:TECH_INFO_MAX] if tech_info else None
        cur = self.db.execute(
            "INSERT INTO security_log(ts, type, tech_info, critical) VALUES (?,?,?,?)",
            (now_iso, kind, info, int(kind in CRITICAL)),
        )
        entry = Entry(cur.lastrowid or 0, now_iso, kind, info, kind in CRITICAL)
        if entry.seq > LOG_MAX_ENTRIES:
            self.db.execute(
                "DELETE FROM security_log WHERE seq <= ?", (entry.seq - LOG_MAX_ENTRIES,)
            )
        if kind in SENT:
            payload = {"type": kind, "timestamp": now_iso}  # call.SecurityEventNotification
            if info:
                payload["tech_info"] = info
            self.send(payload)
        return entry

    def entries(
        self, oldest: datetime | None = None, latest: datetime | None = None
    ) -> list[Entry]:
        """The log, oldest first, within [oldest, latest] when given (GetLog's window)."""
        out = []
        for row in self.db.execute(
            "SELECT seq, ts, type, tech_info, critical FROM security_log ORDER BY seq"
        ):
            entry = Entry(row[0], row[1], row[2], row[3], bool(row[4]))
            moment = datetime.fromisoformat(entry.ts.replace("Z", "+00:00"))
            if oldest is not None and moment < oldest:
                continue
            if latest is not None and moment > latest:
                continue
            out.append(entry)
        return out
