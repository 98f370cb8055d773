"""The security extension as one agent feature ("Improved security for OCPP 1.6-J", ed. 3).

Plugged in through the agent's Feature/Context interface: its own OCPP handlers
(InstallCertificate, DeleteCertificate, GetInstalledCertificateIds, CertificateSigned,
ExtendedTriggerMessage, GetLog, SignedUpdateFirmware), the SecurityProfile and
AuthorizationKey keys (Configuration owners), the uplink's connection plan, and the
security log whose critical events go out through the durable outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature
from charger.agent.features.firmware import FirmwareManager
from charger.agent.features.remote_trigger import RemoteTrigger
from charger.agent.features.security.certificates import (
    CS_ROOT,
    MF_ROOT,
    ROOT_TYPES,
    CertificateError,
    CertificateStore,
)
from charger.agent.features.security.connection import ConnectionPlanner
from charger.agent.features.security.csr import make_csr
from charger.agent.features.security.events import SecurityLog
from charger.agent.features.security.logs import LogUploads
from charger.agent.features.security.signed_firmware import signed_update
from charger.clock import iso

log = logging.getLogger("charger.agent.security")

#: ExtendedTriggerMessage.requestedMessage (whitepaper ed. 3, MessageTriggerEnumType).
EXTENDED_TRIGGERS = (
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargePointCertificate",
    "StatusNotification",
)
#: After answering ChangeConfiguration SecurityProfile/AuthorizationKey the charger
#: reconnects by itself; first it leaves the Central System time to send the Reset the
#: lab tool sends next (TC_083_CS), which reconnects it with the new setting as well.
RECONNECT_AFTER_ANSWER_S = 2.0
#: Use case A03: a ChargePointCertificate that expires within this is renewed by the
#: charge point itself (a new key and CSR), once per connection until renewed.
RENEW_BEFORE = dt.timedelta(days=30)


class Security(Feature):
    def __init__(
        self,
        ctx: Context,
        trigger: RemoteTrigger,
        firmware: FirmwareManager,
        reconnect: Callable[[], None],
    ) -> None:
        """``trigger``: the RemoteTrigger feature (builds the Core messages);
        ``firmware``: the FirmwareManager (signed updates run through it);
        ``reconnect``: the uplink's (drop the connection, connect with the new plan)."""
        super().__init__(ctx)
        self.trigger = trigger
        self.firmware = firmware
        self.reconnect = reconnect
        db = ctx.store.db  # its tables: a step of charger/agent/migrations.py
        self.certificates = CertificateStore(db, Path(ctx.settings.state_dir) / "keys")
        self.log = SecurityLog(db, lambda p: ctx.send_durable("SecurityEventNotification", p))
        self.connection = ConnectionPlanner(
            ctx.settings, ctx.config, self.certificates, self.log, self.now, ctx.clock.time
        )
        self.logs = LogUploads(ctx, self.log)
        self._ready: list[Any] = []
        self._renew = False
        self._signing = False  # a SignCertificate on its way
        ctx.config.owners["SecurityProfile"] = self._change_profile
        ctx.config.owners["AuthorizationKey"] = self._change_key
        firmware.manufacturer_roots = lambda: self.certificates.roots(MF_ROOT)
        firmware.security_event = self.record

    def now(self) -> str:
        return iso(self.ctx.clock.now())

    def record(self, kind: str, tech_info: str | None = None) -> None:
        """A security event: in the security log, and to the Central System if it is one
        this charger sends (:mod:`.events`)."""
        self.log.record(kind, self.now(), tech_info)
        log.info("security event %s%s", kind, f": {tech_info}" if tech_info else "")

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._protect_files()
        self._provision()
        self.record("StartupOfTheDevice", f"firmware {self.ctx.firmware_version()}")

    def on_accepted(self) -> None:
        if self.certificates.needs_renewal(RENEW_BEFORE) and not self._signing:
            log.info("the ChargePointCertificate expires within %s: renewing it", RENEW_BEFORE)
            self.ctx.spawn(self._sign_certificate())

    def on_invalid_message(self, description: str) -> None:
        """Whitepaper ed. 3, security events: InvalidMessages (kept in the security log)."""
        self.record("InvalidMessages", description)

    def close(self) -> None:
        if self.ctx.reboot.is_set():  # a Reset or a firmware update: recorded before exit
            try:
                self.record("ResetOrReboot", "reboot requested")
            except Exception:  # noqa: BLE001 - going down all the same; say what was lost
                log.exception("the ResetOrReboot security event could not be recorded")
        self.logs.close()

    def _protect_files(self) -> None:
        """The agent's secrets are never world-readable (issue 11): agent.sqlite and its
        WAL/shared-memory files hold the AuthorizationKey."""
        state = Path(self.ctx.settings.state_dir)
        for path in state.glob("agent.sqlite*"):
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)

    def _provision(self) -> None:
        """The roots the charger was provisioned with, installed once (as at the factory)."""
        settings = self.ctx.settings
        for kind, source in (
            (CS_ROOT, getattr(settings, "ca_file", None)),
            (MF_ROOT, getattr(settings, "manufacturer_root", None)),
        ):
            if not source or self.certificates.roots(kind):
                continue
            try:
                pem = Path(source).read_text()
            except OSError as exc:
                log.error("provisioned %s %s: %s", kind, source, exc)
                continue
            status = self.certificates.install_root(kind, pem, self._max_store(), self.now())
            log.info("provisioned %s from %s: %s", kind, source, status)

    def _max_store(self) -> int:
        return self.ctx.config.int("CertificateStoreMaxLength")

    # --- configuration keys ------------------------------------------------------------

    def _change_profile(self, value: str) -> str:
        """Whitepaper ed. 3, use case A05 (Upgrade Charge Point Security Profile): upwards
        only, prerequisites checked, then reconnect (lab cases 083, 084)."""
        machine = self.connection.machine()
        status, why = machine.request(
            int(value),
            has_cs_root=bool(self.certificates.roots(CS_ROOT)),
            has_cp_cert=self.certificates.has_valid_charge_point_certificate(),
        )
        if status != "Accepted":
            log.info("SecurityProfile %s rejected: %s", value, why)
            return status
        self.connection.save(machine)
        if machine.state.pending is not None:
            self.record("ReconfigurationOfSecurityParameters", f"SecurityProfile {value}")
            self.ctx.spawn(self._reconnect_soon())
        return status

    def _change_key(self, value: str) -> str:
        """Whitepaper ed. 3, use case A01 (Update Charge Point Password for HTTP Basic
        Authentication): Accepted, then reconnect with the new key (lab case 073)."""
        self.ctx.config.set_internal("AuthorizationKey", value)
        self.record("ReconfigurationOfSecurityParameters", "AuthorizationKey")
        if self.connection.machine().in_use() in (1, 2):
            self.ctx.spawn(self._reconnect_soon())
        return "Accepted"

    async def _reconnect_soon(self) -> None:
        """Reconnect unless the charger already has (a Reset, a lost link) with what the
        next attempt would use: dropping that fresh connection would cut off what the
        Central System sends on it."""
        await self.ctx.clock.sleep(RECONNECT_AFTER_ANSWER_S)
        if self.connection.needs_reconnect():
            self.reconnect()

    # --- certificates --------------------------------------------------------------------

    @on(Action.install_certificate)
    def on_install_certificate(self, certificate_type: str, certificate: str, **_: Any):
        if certificate_type not in ROOT_TYPES:
            return call_result.InstallCertificate(status="Rejected")
        status = self.certificates.install_root(
            certificate_type, certificate, self._max_store(), self.now()
        )
        return call_result.InstallCertificate(status=status)

    @on(Action.delete_certificate)
    def on_delete_certificate(self, certificate_hash_data: dict, **_: Any):
        wanted = {
            "hashAlgorithm": certificate_hash_data.get("hash_algorithm", ""),
            "issuerNameHash": certificate_hash_data.get("issuer_name_hash", ""),
            "issuerKeyHash": certificate_hash_data.get("issuer_key_hash", ""),
            "serialNumber": certificate_hash_data.get("serial_number", ""),
        }
        return call_result.DeleteCertificate(status=self.certificates.delete(wanted))

    @on(Action.get_installed_certificate_ids)
    def on_get_installed_certificate_ids(self, certificate_type: str, **_: Any):
        found = self.certificates.hash_data_of(certificate_type)
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data=found
        )

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, **_: Any):
        """Whitepaper ed. 3, use cases A02/A03 (lab cases 074, 077): verified against the
        CentralSystemRootCertificate and our CSR's key; used from the next connection."""
        try:
            chain = self.certificates.check_signed_chain(
                certificate_chain, self.ctx.config.int("CertificateSignedMaxChainSize")
            )
        except CertificateError as exc:
            log.warning("CertificateSigned rejected: %s", exc)
            self.record("InvalidChargePointCertificate", str(exc))
            return call_result.CertificateSigned(status="Rejected")
        self.certificates.install_charge_point_certificate(chain, self.now())
        log.info("ChargePointCertificate %s installed", chain[0].subject.rfc4514_string())
        return call_result.CertificateSigned(status="Accepted")

    async def _sign_certificate(self) -> None:
        """A new key pair and CSR, sent in SignCertificate (the answer comes as
        CertificateSigned)."""
        self._signing = True
        try:
            cpo = self.ctx.config.get("CpoName") or None
            request = await asyncio.to_thread(make_csr, self.ctx.settings.charge_point_id, cpo)
            self.certificates.save_pending_key(request.key_pem)
            answer = await self.ctx.request(call.SignCertificate(csr=request.csr_pem))
            log.info("SignCertificate: %s", answer.get("status"))
        except Exception as exc:  # noqa: BLE001 - asked again by the CSMS or at the next boot
            log.warning("SignCertificate: %s", exc)
        finally:
            self._signing = False

    # --- ExtendedTriggerMessage ------------------------------------------------------------

    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ):
        status, self._ready, self._renew = self._build(requested_message, connector_id)
        return call_result.ExtendedTriggerMessage(status=status)

    @after(Action.extended_trigger_message)
    def after_extended_trigger_message(self, **_: Any) -> None:
        """The answer has left: the requested message follows."""
        ready, self._ready = self._ready, []
        for message in ready:
            self.ctx.send(message)
        if self._renew:
            self._renew = False
            self.ctx.spawn(self._sign_certificate())

    def _build(self, requested: str, connector_id: int | None) -> tuple[str, list[Any], bool]:
        if requested not in EXTENDED_TRIGGERS:
            return "NotImplemented", [], False
        if connector_id is not None and connector_id not in (0, *self.ctx.connectors):
            return "Rejected", [], False
        if requested == "SignChargePointCertificate":
            return "Accepted", [], True
        if requested == "LogStatusNotification":
            status, request_id = self.logs.status()
            return "Accepted", [call.LogStatusNotification(status, request_id)], False
        if requested == "FirmwareStatusNotification":
            # The security extension's firmware status is the signed update's (as EVerest
            # libocpp's 1.6 charge point answers it): SignedFirmwareStatusNotification.
            status, request_id = self.firmware.signed_status()
            message = call.SignedFirmwareStatusNotification(status, request_id)
            return "Accepted", [message], False
        status, messages = self.trigger.build(requested, connector_id)
        return status, messages, False

    # --- GetLog, SignedUpdateFirmware -------------------------------------------------------

    @on(Action.get_log)
    def on_get_log(
        self,
        log_type: str,
        request_id: int,
        log: dict,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ):
        status, name = self.logs.get_log(
            log_type,
            request_id,
            log["remote_location"],
            log.get("oldest_timestamp"),
            log.get("latest_timestamp"),
            retries,
            retry_interval,
        )
        return call_result.GetLog(status=status, filename=name)

    @on(Action.signed_update_firmware)
    def on_signed_update_firmware(
        self,
        request_id: int,
        firmware: dict,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ):
        status = signed_update(
            self.firmware,
            self.certificates.roots(MF_ROOT),
            request_id,
            firmware,
            retries,
            retry_interval,
            self.record,
        )
        return call_result.SignedUpdateFirmware(status=status)
