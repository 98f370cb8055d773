"""Local Authorization List Management: SendLocalList, GetLocalListVersion (§5.15, §5.10)."""

from __future__ import annotations

from typing import Any

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Feature

VERSION = "_LocalListVersion"  # internal config key


def _wire_info(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """idTagInfo as the ocpp package hands it (snake_case) back to its wire form."""
    if info is None:
        return None
    out = {"status": info["status"]}
    if info.get("expiry_date"):
        out["expiryDate"] = info["expiry_date"]
    if info.get("parent_id_tag"):
        out["parentIdTag"] = info["parent_id_tag"]
    return out


class LocalList(Feature):
    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any):
        return call_result.GetLocalListVersion(list_version=self.version())

    def version(self) -> int:
        if not self.ctx.config.bool("LocalAuthListEnabled"):
            return -1
        if self.ctx.store.list_size() == 0:
            return 0  # 0: there is no list (§5.9), whatever version emptied it
        return int(self.ctx.config.values.get(VERSION) or 0)

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict] | None = None,
        **_: Any,
    ):
        status = self.send_local_list(list_version, update_type, local_authorization_list or [])
        return call_result.SendLocalList(status=status)

    def send_local_list(
        self, list_version: int, update_type: str, entries: list[dict[str, Any]]
    ) -> str:
        """Accepted, Failed, NotSupported or VersionMismatch (§5.15)."""
        config, store = self.ctx.config, self.ctx.store
        if not config.bool("LocalAuthListEnabled"):
            return "NotSupported"
        if len(entries) > config.int("SendLocalListMaxLength"):
            return "Failed"
        full = update_type == "Full"
        if not full and list_version <= self.version():
            return "VersionMismatch"
        changes = [(e["id_tag"].upper(), _wire_info(e.get("id_tag_info"))) for e in entries]
        size = 0 if full else store.list_size()
        adds = {tag for tag, info in changes if info is not None}
        if not full:
            adds -= {tag for tag in adds if store.list_get(tag) is not None}
        if size + len(adds) > config.int("LocalAuthListMaxLength"):
            return "Failed"
        if full and any(info is None for _, info in changes):
            return "Failed"  # a full list carries idTagInfo for every entry
        store.list_update(list_version, full, changes)
        config.values[VERSION] = str(list_version)
        return "Accepted"
