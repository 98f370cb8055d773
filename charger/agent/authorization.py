"""Who may charge: the OCPP 1.6 authorization rules as pure functions.

The runtime asks the CSMS when it can; these rules decide from the cache and the
configuration when it cannot (LocalAuthorizeOffline, AllowOfflineTxForUnknownId)
or need not (LocalPreAuthorize), and whether a tag may stop someone's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

IdTagInfo = dict[str, Any]


def parse_time(value: str | None) -> datetime | None:
    """An OCPP timestamp (ISO 8601, Z or offset), or None if absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_valid(info: IdTagInfo | None, now: datetime) -> bool:
    """Accepted and not expired."""
    if info is None or info.get("status") != "Accepted":
        return False
    expiry = info.get("expiryDate")
    if expiry:
        try:
            if datetime.fromisoformat(expiry.replace("Z", "+00:00")) <= now:
                return False
        except ValueError:
            return False
    return True


def offline_decision(
    cached: IdTagInfo | None,
    now: datetime,
    *,
    local_authorize_offline: bool,
    allow_unknown: bool,
    listed: IdTagInfo | None = None,
) -> IdTagInfo:
    """Authorization while the CSMS cannot be asked; the local list wins over the cache."""
    if listed is not None:
        cached = listed
    if local_authorize_offline and cached is not None:
        if is_valid(cached, now):
            return dict(cached)
        status = cached.get("status", "Invalid")
        return {"status": "Expired" if status == "Accepted" else status}
    if cached is None and allow_unknown:
        return {"status": "Accepted"}
    return {"status": "Invalid"}


def may_stop(
    presented: str,
    presented_parent: str | None,
    tx_tag: str,
    tx_parent: str | None,
) -> bool:
    """The tag that started, or one sharing its parentIdTag, may stop (OCPP 1.6 §3.5)."""
    if presented.upper() == tx_tag.upper():
        return True
    return bool(presented_parent and tx_parent and presented_parent.upper() == tx_parent.upper())
