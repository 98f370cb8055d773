"""Who may charge: the OCPP 1.6 authorization rules, and the authorizer that applies them.

:class:`Authorizer` asks the CSMS when it can; these rules decide from the cache and
the configuration when it cannot (LocalAuthorizeOffline, AllowOfflineTxForUnknownId)
or need not (LocalPreAuthorize), and whether a tag may stop someone's transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from charger.protocol.errors import CallErrorReceived
from charger.protocol.times import ocpp_time_or_none

log = logging.getLogger("charger.agent")

IdTagInfo = dict[str, Any]


parse_time = ocpp_time_or_none  # absent or unreadable: None


def is_valid(info: IdTagInfo | None, now: datetime) -> bool:
    """Accepted and not expired."""
    if info is None or info.get("status") != "Accepted":
        return False
    expiry = info.get("expiryDate")
    if expiry:
        moment = ocpp_time_or_none(expiry)
        if moment is None or moment <= now:
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


class Authorizer:
    """idTagInfo for a tag: the Central System's word when online, else these rules.

    Keeps what was learnt of each tag's parentIdTag (stop by group, reservations)
    and fills the authorization cache.
    """

    def __init__(self, config: Any, store: Any, clock: Any, outbox: Any) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.parent: dict[str, str | None] = {}  # idTag -> parentIdTag, as last learnt

    def remember(self, id_tag: str, info: IdTagInfo) -> None:
        """What the Central System said of a tag: kept for parentIdTag and in the cache."""
        self.parent[id_tag.upper()] = info.get("parentIdTag")
        if self.config.bool("AuthorizationCacheEnabled"):
            self.store.cache_put(id_tag.upper(), info, self.clock.time())

    async def authorize(self, id_tag: str) -> IdTagInfo:
        now = self.clock.now()
        tag = id_tag.upper()
        cached = (
            self.store.cache_get(tag) if self.config.bool("AuthorizationCacheEnabled") else None
        )
        listed = self.store.list_get(tag) if self.config.bool("LocalAuthListEnabled") else None
        known = listed if listed is not None else cached  # the list wins over the cache
        if listed is not None:
            self.parent[tag] = listed.get("parentIdTag")
        if self.outbox.accepted.is_set():
            if known is not None and self.config.bool("LocalPreAuthorize") and is_valid(known, now):
                return known
            try:
                response = await self.outbox.request(call.Authorize(id_tag=id_tag))
            except (CallErrorReceived, OCPPError, TimeoutError, ConnectionError) as exc:
                log.warning("Authorize failed (%s); deciding offline", exc)
            else:
                info = response["idTagInfo"]
                self.remember(id_tag, info)
                return info
        info = offline_decision(
            cached,
            now,
            listed=listed,
            local_authorize_offline=self.config.bool("LocalAuthorizeOffline"),
            allow_unknown=self.config.bool("AllowOfflineTxForUnknownId"),
        )
        if info["status"] == "Accepted":
            self.parent.setdefault(tag, info.get("parentIdTag"))
        return info
