"""The agent's side of the OCPP connection: inbound CALLs mapped onto the charger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OccurenceConstraintViolationError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from charger.agent.firmware import FirmwareHandlers
from charger.protocol.link import Link

if TYPE_CHECKING:
    from charger.agent.runtime import Charger


class AgentLink(FirmwareHandlers, Link):
    """Handlers stay synchronous and short: follow-ups run as tasks, never inside @on."""

    def __init__(self, cp_id: str, connection: Any, charger: Charger, **kwargs: Any) -> None:
        super().__init__(cp_id, connection, **kwargs)
        self.charger = charger

    @on(Action.remote_start_transaction)
    def on_remote_start(
        self,
        id_tag: str,
        connector_id: int | None = None,
        charging_profile: dict | None = None,
        **_: Any,
    ):
        status = self.charger.remote_start(id_tag, connector_id, charging_profile)
        return call_result.RemoteStartTransaction(status=status)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_: Any):
        return call_result.RemoteStopTransaction(status=self.charger.remote_stop(transaction_id))

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any):
        limit = self.charger.config.int("GetConfigurationMaxKeys")
        if key and len(key) > limit:
            raise OccurenceConstraintViolationError(
                description=f"at most {limit} keys per GetConfiguration"
            )
        found, unknown = self.charger.config.report(key)
        kwargs: dict[str, Any] = {"configuration_key": found}
        if unknown:
            kwargs["unknown_key"] = unknown
        return call_result.GetConfiguration(**kwargs)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any):
        return call_result.ChangeConfiguration(status=self.charger.config.change(key, value))

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any):
        return call_result.Reset(status=self.charger.reset(type))

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any):
        status = self.charger.change_availability(connector_id, type)
        return call_result.ChangeAvailability(status=status)

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any):
        return call_result.UnlockConnector(status=self.charger.unlock_connector(connector_id))

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any):
        return call_result.ClearCache(status=self.charger.clear_cache())

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any):
        """No vendor extensions: every vendorId is unknown to this charger."""
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ):
        status = self.charger.reserve_now(
            connector_id, expiry_date, id_tag, reservation_id, parent_id_tag
        )
        return call_result.ReserveNow(status=status)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_: Any):
        return call_result.CancelReservation(status=self.charger.cancel_reservation(reservation_id))

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict] | None = None,
        **_: Any,
    ):
        status = self.charger.send_local_list(
            list_version, update_type, local_authorization_list or []
        )
        return call_result.SendLocalList(status=status)

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any):
        return call_result.GetLocalListVersion(list_version=self.charger.local_list_version())

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any):
        status = self.charger.trigger(requested_message, connector_id)
        return call_result.TriggerMessage(status=status)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_: Any):
        status = self.charger.set_charging_profile(connector_id, cs_charging_profiles)
        return call_result.SetChargingProfile(status=status)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ):
        status = self.charger.clear_charging_profile(
            id, connector_id, charging_profile_purpose, stack_level
        )
        return call_result.ClearChargingProfile(status=status)

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ):
        answer = self.charger.composite_schedule(connector_id, duration, charging_rate_unit)
        if answer.get("status") != "Accepted":
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=answer["connectorId"],
            schedule_start=answer["scheduleStart"],
            charging_schedule=camel_to_snake_case(answer["chargingSchedule"]),
        )
