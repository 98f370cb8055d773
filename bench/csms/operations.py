"""CSMS-initiated requests, for scenarios.

Arguments and return values use the wire form: a response is the CALLRESULT's JSON
object with its camelCase keys (``{"status": "Accepted"}``,
``{"configurationKey": [...], "unknownKey": [...]}``), the same form the trace and
``wait_for`` give, and a charging profile is passed as its camelCase JSON object.
Every method raises ``NotConnected`` if the charge point has no open connection and
``CallErrorReceived`` (with ``.code``) if it answers with a CALLERROR.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call


class Operations:
    """Convenience wrappers over :meth:`call`; mixed into ``CentralSystem``."""

    async def call(
        self, cp_id: str, payload: Any, *, skip_schema_validation: bool = False
    ) -> dict[str, Any]:
        raise NotImplementedError

    async def remote_start(
        self,
        cp_id: str,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self.call(
            cp_id,
            call.RemoteStartTransaction(
                id_tag=id_tag, connector_id=connector_id, charging_profile=charging_profile
            ),
        )

    async def remote_stop(self, cp_id: str, transaction_id: int) -> dict[str, Any]:
        return await self.call(cp_id, call.RemoteStopTransaction(transaction_id=transaction_id))

    async def get_configuration(self, cp_id: str, keys: list[str] | None = None) -> dict[str, Any]:
        return await self.call(cp_id, call.GetConfiguration(key=keys))

    async def change_configuration(self, cp_id: str, key: str, value: str) -> dict[str, Any]:
        return await self.call(cp_id, call.ChangeConfiguration(key=key, value=value))

    async def reset(self, cp_id: str, kind: str = "Soft") -> dict[str, Any]:
        """``kind`` is ResetType: "Soft" or "Hard"."""
        return await self.call(cp_id, call.Reset(type=kind))

    async def trigger_message(
        self, cp_id: str, requested_message: str, connector_id: int | None = None
    ) -> dict[str, Any]:
        """``requested_message`` is a MessageTrigger, e.g. "StatusNotification"."""
        return await self.call(
            cp_id,
            call.TriggerMessage(requested_message=requested_message, connector_id=connector_id),
        )

    async def change_availability(self, cp_id: str, connector_id: int, kind: str) -> dict[str, Any]:
        """``kind`` is AvailabilityType: "Operative" or "Inoperative"; connector 0 = all."""
        return await self.call(cp_id, call.ChangeAvailability(connector_id=connector_id, type=kind))

    async def unlock_connector(self, cp_id: str, connector_id: int) -> dict[str, Any]:
        return await self.call(cp_id, call.UnlockConnector(connector_id=connector_id))

    async def clear_cache(self, cp_id: str) -> dict[str, Any]:
        return await self.call(cp_id, call.ClearCache())

    async def data_transfer(
        self,
        cp_id: str,
        vendor_id: str,
        message_id: str | None = None,
        data: str | None = None,
    ) -> dict[str, Any]:
        return await self.call(
            cp_id, call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)
        )
