"""The security extension's CSMS-initiated operations ("Improved security for OCPP 1.6-J").

Part of the one operations implementation: the entries of :data:`SECURITY_OPERATIONS`
join :data:`bench.csms.operations.OPERATIONS` (so the HTTP API, its OpenAPI document,
``bench csms`` and the panel offer them), and :class:`SecurityOperations` is mixed into
``CentralSystem`` next to ``Operations``, whose ``operate`` finds the ``_prepare_*`` /
``_after_*`` / ``_failed_*`` steps here. What the CSMS fills itself:

* InstallCertificate without a certificate: the CPO root (CentralSystemRootCertificate)
  or the manufacturer root (ManufacturerRootCertificate) of the bench.
* DeleteCertificate from a ``certificate`` PEM: its certificateHashData.
* CertificateSigned from a ``csr``: the CPO CA signs it (also sent on its own after an
  Accepted SignCertificate).
* GetLog: requestId and a remoteLocation on the CSMS's FTP server (as GetDiagnostics).
* SignedUpdateFirmware from a ``firmwareFile`` in the FTP store: location, a
  firmware-signing certificate from the manufacturer CA and the signature (base64 of
  an RSA SHA-256 signature over the file).
* ChangeConfiguration AuthorizationKey without a value: a new random key, kept hashed
  and pending (the old key stays valid until the charge point connects with the new
  one); SecurityProfile only upwards (lowering is forbidden: catalogue 084), pending
  in the same way until the charge point connects with the new profile.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bench.csms.operation_types import Operation, OperationError, Payload
from bench.security.ca import (
    CertificateAuthority,
    CsrError,
    PrivateKey,
    certificate_hash_data,
    load_chain,
    sign_data,
)
from bench.security.passwords import fast_hash, generate_password, hash_password
from bench.security.redact import redact_text
from charger.charging_profiles import parse_time
from charger.clock import Clock, iso

if TYPE_CHECKING:
    from bench.csms.store import Store
    from bench.ftp import FtpServer

LOG = logging.getLogger(__name__)

SECURITY = "Security"
PEM_FIELD = {"type": "string", "description": "A PEM certificate."}

SECURITY_OPERATIONS = (
    Operation(
        "CertificateSigned",
        "certificate_signed",
        "Send a ChargePointCertificate chain; with csr, the CSMS's CPO CA signs it first.",
        SECURITY,
        fills=("certificateChain",),
        extras={"csr": {"type": "string", "description": "A PEM CSR for the CPO CA to sign."}},
    ),
    Operation(
        "DeleteCertificate",
        "delete_certificate",
        "Delete an installed certificate, by its hash data or from its PEM.",
        SECURITY,
        fills=("certificateHashData",),
        extras={"certificate": PEM_FIELD},
    ),
    Operation(
        "ExtendedTriggerMessage",
        "extended_trigger_message",
        "Make the charge point send a message now (also SignChargePointCertificate, "
        "LogStatusNotification, FirmwareStatusNotification).",
        SECURITY,
    ),
    Operation(
        "GetInstalledCertificateIds",
        "get_installed_certificate_ids",
        "List the installed root certificates of a type; the CSMS keeps the answer.",
        SECURITY,
    ),
    Operation(
        "GetLog",
        "get_log",
        "Ask for the security or diagnostics log; without a remoteLocation, uploaded to the "
        "CSMS's FTP server.",
        SECURITY,
        fills=("requestId", "log"),
    ),
    Operation(
        "InstallCertificate",
        "install_certificate",
        "Install a root certificate; without one, the bench's CPO or manufacturer root.",
        SECURITY,
        fills=("certificate",),
    ),
    Operation(
        "SignedUpdateFirmware",
        "signed_update_firmware",
        "Signed firmware update; give a firmwareFile from the CSMS's store and the CSMS "
        "builds the location, signing certificate and signature.",
        SECURITY,
        fills=("requestId", "firmware"),
        extras={
            "firmwareFile": {
                "type": "string",
                "description": "A file name in the CSMS's firmware store (instead of firmware).",
            }
        },
    ),
)

ROOT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
PROFILES = (1, 2, 3)


class SecurityOperations:
    """The security operations; mixed into ``CentralSystem`` (which gives the attributes)."""

    store: Store
    clock: Clock
    _signing: tuple[PrivateKey, str] | None = None

    # provided by CentralSystem / Operations
    def cpo_ca(self) -> CertificateAuthority:
        raise OperationError("this Central System has no CA")

    def manufacturer_ca(self) -> CertificateAuthority:
        raise OperationError("this Central System has no manufacturer CA")

    def serves_profile(self, profile: int) -> bool:
        return False

    if TYPE_CHECKING:  # given by CentralSystem and Operations

        @property
        def main_profile(self) -> int: ...

        def ftp_server(self) -> FtpServer: ...

        async def _run(self, cp_id: str, action: str, **fields: Any) -> dict[str, Any]: ...

    # -- the Python API ------------------------------------------------------------------------

    async def extended_trigger_message(
        self, cp_id: str, requested_message: str, connector_id: int | None = None
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "ExtendedTriggerMessage",
            requested_message=requested_message,
            connector_id=connector_id,
        )

    async def install_certificate(
        self, cp_id: str, certificate_type: str, certificate: str | None = None
    ) -> dict[str, Any]:
        return await self._run(
            cp_id, "InstallCertificate", certificate_type=certificate_type, certificate=certificate
        )

    async def delete_certificate(
        self,
        cp_id: str,
        certificate_hash_data: dict[str, str] | None = None,
        certificate: str | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "DeleteCertificate",
            certificate_hash_data=certificate_hash_data,
            certificate=certificate,
        )

    async def get_installed_certificate_ids(
        self, cp_id: str, certificate_type: str
    ) -> dict[str, Any]:
        return await self._run(
            cp_id, "GetInstalledCertificateIds", certificate_type=certificate_type
        )

    async def certificate_signed(
        self, cp_id: str, certificate_chain: str | None = None, csr: str | None = None
    ) -> dict[str, Any]:
        return await self._run(
            cp_id, "CertificateSigned", certificate_chain=certificate_chain, csr=csr
        )

    async def get_log(
        self,
        cp_id: str,
        log_type: str = "SecurityLog",
        log: dict[str, Any] | None = None,
        request_id: int | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
    ) -> dict[str, Any]:
        """GetLog; ``log`` is LogParametersType (without remoteLocation: the CSMS's FTP)."""
        return await self._run(
            cp_id,
            "GetLog",
            log_type=log_type,
            log=log,
            request_id=request_id,
            retries=retries,
            retry_interval=retry_interval,
        )

    async def signed_update_firmware(
        self,
        cp_id: str,
        firmware_file: str | None = None,
        firmware: dict[str, Any] | None = None,
        request_id: int | None = None,
        retries: int | None = None,
        retry_interval: int | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            cp_id,
            "SignedUpdateFirmware",
            firmware_file=firmware_file,
            firmware=firmware,
            request_id=request_id,
            retries=retries,
            retry_interval=retry_interval,
        )

    def security_overview(self, cp_id: str) -> dict[str, Any]:
        """What the CSMS knows of a charge point's security: profile, certificates, logs."""
        row = self.store.security(cp_id) or {}
        return {
            "profile": row.get("profile"),
            "pending_profile": row.get("pending_profile"),
            "pending_key": bool(row.get("pending_hash")),
            "issued_certificates": [
                {k: c[k] for k in ("serial", "subject", "not_after", "issued_ts")}
                for c in self.store.issued_certificates(cp_id)
            ],
            "installed_certificates": self.store.installed_certificates(cp_id),
            "log_requests": self.store.log_requests(cp_id),
            "signed_firmware": self.store.signed_firmware(cp_id),
            "security_events": [
                {"received_ts": n["received_ts"], **n["payload"]}
                for n in self.store.notifications(cp_id, "SecurityEventNotification")
            ],
        }

    # -- what the CSMS fills and keeps ------------------------------------------------------

    def _prepare_install_certificate(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        kind = p.get("certificateType")
        if "certificate" not in p:
            if kind == "CentralSystemRootCertificate":
                p["certificate"] = self.cpo_ca().pem
            elif kind == "ManufacturerRootCertificate":
                p["certificate"] = self.manufacturer_ca().pem
            else:
                raise OperationError(f"InstallCertificate: certificateType one of {ROOT_TYPES}")
            notes["certificate"] = "the bench's " + (
                "CPO root" if kind == "CentralSystemRootCertificate" else "manufacturer root"
            )
        _pem(p["certificate"], "InstallCertificate certificate")
        return p

    def _prepare_delete_certificate(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        pem = p.pop("certificate", None)
        if pem is not None:
            if "certificateHashData" in p:
                raise OperationError("DeleteCertificate: give certificateHashData or certificate")
            _pem(pem, "DeleteCertificate certificate")
            p["certificateHashData"] = certificate_hash_data(pem)
        if "certificateHashData" not in p:
            raise OperationError("DeleteCertificate needs certificateHashData or a certificate")
        return p

    def _after_get_installed_certificate_ids(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        self.store.record_installed_certificates(
            cp_id,
            req["certificateType"],
            str(res.get("status")),
            list(res.get("certificateHashData") or []),
            iso(self.clock.now()),
        )

    def _prepare_certificate_signed(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        csr = p.pop("csr", None)
        if csr is not None:
            if "certificateChain" in p:
                raise OperationError("CertificateSigned: give certificateChain or csr, not both")
            try:
                p["certificateChain"] = self.cpo_ca().sign_csr(csr, cp_id)
            except CsrError as exc:
                raise OperationError(f"CertificateSigned: {exc}") from None
            leaf = load_chain(p["certificateChain"])[0]
            issued = {
                "serial": format(leaf.serial_number, "x"),
                "subject": leaf.subject.rfc4514_string(),
            }
            self.store.add_issued_certificate(
                cp_id,
                issued["serial"],
                issued["subject"],
                iso(leaf.not_valid_after_utc),
                p["certificateChain"],
                iso(self.clock.now()),
            )
            notes["issued"] = issued
        if "certificateChain" not in p:
            raise OperationError("CertificateSigned needs a certificateChain or a csr")
        _pem(p["certificateChain"], "CertificateSigned certificateChain")
        return p

    def _prepare_get_log(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        p.setdefault("logType", "SecurityLog")
        self._request_id(p)
        log = _dates(dict(p.get("log") or {}), "oldestTimestamp", "latestTimestamp")
        if "remoteLocation" not in log:
            log["remoteLocation"] = self.ftp_server().diagnostics_location()
        p["log"] = log
        if isinstance(p["requestId"], int):
            self.store.add_log_request(
                p["requestId"],
                cp_id,
                str(p["logType"]),
                redact_text(str(log["remoteLocation"])),
                iso(self.clock.now()),
            )
        notes["requestId"] = p["requestId"]
        return p

    def _after_get_log(self, cp_id: str, req: Payload, res: Payload, notes: Payload) -> None:
        self._set_status("log_requests", cp_id, req, str(res.get("status")), res.get("filename"))
        notes["filename"] = res.get("filename")

    def _failed_get_log(self, cp_id: str, req: Payload, notes: Payload, error: str) -> None:
        self._set_status("log_requests", cp_id, req, f"NotSent: {error}")

    def _prepare_signed_update_firmware(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        name = p.pop("firmwareFile", None)
        self._request_id(p)
        if name is not None:
            if "firmware" in p:
                raise OperationError("SignedUpdateFirmware: give firmwareFile or firmware")
            ftp = self.ftp_server()
            try:
                location = ftp.firmware_location(str(name))
            except ValueError as exc:
                raise OperationError(f"SignedUpdateFirmware: {exc}") from None
            key, certificate = self.firmware_signing()
            p["firmware"] = {
                "location": location,
                "retrieveDateTime": iso(self.clock.now()),
                "signingCertificate": certificate,
                "signature": sign_data(key, ftp.firmware_path(str(name)).read_bytes()),
            }
        firmware = p.get("firmware")
        if not isinstance(firmware, dict):
            raise OperationError("SignedUpdateFirmware needs a firmwareFile or a firmware object")
        _dates(firmware, "retrieveDateTime", "installDateTime")
        if isinstance(p["requestId"], int):
            self.store.add_signed_firmware(
                p["requestId"],
                cp_id,
                name,
                redact_text(str(firmware.get("location"))),
                iso(self.clock.now()),
            )
        notes.update(requestId=p["requestId"], firmware=name)
        return p

    def _after_signed_update_firmware(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        current = [
            r for r in self.store.signed_firmware(cp_id) if r["request_id"] == req["requestId"]
        ]
        if current and current[0]["status"] == "Requested":
            self._set_status("signed_firmware", cp_id, req, str(res.get("status")))

    def _failed_signed_update_firmware(
        self, cp_id: str, req: Payload, notes: Payload, error: str
    ) -> None:
        self._set_status("signed_firmware", cp_id, req, f"NotSent: {error}")

    # -- GetLog and SignedUpdateFirmware requests, kept by requestId --------------------------

    def _request_id(self, p: Payload) -> None:
        """Give the request the next free requestId unless it names one."""
        if "requestId" not in p:
            p["requestId"] = self.store.next_request_id()

    def _set_status(
        self, table: str, cp_id: str, req: Payload, status: str, file_name: str | None = None
    ) -> None:
        self.store.set_request_status(
            table, cp_id, req["requestId"], status, iso(self.clock.now()), file_name
        )

    def firmware_signing(self) -> tuple[PrivateKey, str]:
        """The firmware-signing key and certificate (from the manufacturer CA), made once."""
        if self._signing is None:
            self._signing = self.manufacturer_ca().issue_signing_certificate()
        return self._signing

    # -- ChangeConfiguration of the security keys ----------------------------------------------

    def _prepare_change_configuration(self, cp_id: str, p: Payload, notes: Payload) -> Payload:
        key = p.get("key")
        now = iso(self.clock.now())
        if key in ("AuthorizationKey", "SecurityProfile") and not self._has_security_row(cp_id):
            raise OperationError(f"ChangeConfiguration: {cp_id!r} is not registered")
        if key == "AuthorizationKey":
            if "value" not in p:
                p["value"] = generate_password(32)
                stored = fast_hash(p["value"])  # machine-made, high entropy: a fast hash
                notes["authorizationKey"] = "generated by the CSMS"
            else:
                stored = hash_password(str(p["value"]))  # chosen by a person: scrypt
            self.store.set_pending_security(cp_id, now, password_hash=stored)
        elif key == "SecurityProfile":
            profile = _profile(p.get("value"))
            current = (self.store.security(cp_id) or {}).get("profile")
            if current is not None and profile <= current:
                raise OperationError(
                    f"ChangeConfiguration SecurityProfile: {cp_id} uses profile {current}; "
                    "a profile may only be raised (lowering is forbidden by the whitepaper)"
                )
            if not self.serves_profile(profile):
                raise OperationError(
                    f"ChangeConfiguration SecurityProfile: this CSMS has no port for profile "
                    f"{profile}; the charge point could not reconnect"
                )
            self.store.set_pending_security(cp_id, now, profile=profile)
            p["value"] = str(profile)
        elif "value" not in p:
            raise OperationError("ChangeConfiguration needs a value")
        return p

    def _has_security_row(self, cp_id: str) -> bool:
        """A registered charge point has its profile row (one registered before profiles
        were kept gets the main port's)."""
        if self.store.security(cp_id) is not None:
            return True
        if self.store.charge_point(cp_id) is None:
            return False
        self.store.set_security_profile(cp_id, self.main_profile)
        return True

    def _after_change_configuration(
        self, cp_id: str, req: Payload, res: Payload, notes: Payload
    ) -> None:
        accepted = res.get("status") in ("Accepted", "RebootRequired")
        if req["key"] in ("AuthorizationKey", "SecurityProfile"):
            if accepted:
                notes["pending"] = (
                    "valid next to the old one until the charge point reconnects with it"
                )
            else:
                self._drop_pending(cp_id, req)
        super()._after_change_configuration(cp_id, req, res, notes)  # type: ignore[misc]

    def _failed_change_configuration(
        self, cp_id: str, req: Payload, notes: Payload, error: str
    ) -> None:
        self._drop_pending(cp_id, req)

    def _drop_pending(self, cp_id: str, req: Payload) -> None:
        self.store.clear_pending_security(
            cp_id,
            key=req["key"] == "AuthorizationKey",
            profile=req["key"] == "SecurityProfile",
        )


def _pem(text: Any, what: str) -> None:
    try:
        load_chain(str(text))
    except ValueError as exc:
        raise OperationError(f"{what} is not a PEM certificate: {exc}") from None


def _profile(value: Any) -> int:
    try:
        profile = int(str(value))
    except ValueError:
        profile = 0
    if profile not in PROFILES:
        raise OperationError(f"SecurityProfile must be one of {PROFILES}, not {value!r}")
    return profile


def _dates(payload: Payload, *keys: str) -> Payload:
    """``payload`` with its date-times among ``keys`` in OCPP form (checked)."""
    for key in keys:
        if key in payload:
            payload[key] = _when(payload[key])
    return payload


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if parse_time(value) is None:
        raise OperationError(f"not a date-time: {value!r}")
    return value
