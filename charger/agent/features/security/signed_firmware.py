"""SignedUpdateFirmware: the signing certificate checked before anything is downloaded.

Whitepaper "Improved security for OCPP 1.6-J" ed. 3, use case L01 (Secure firmware update; lab
cases 080/081): the signingCertificate must chain to an installed
ManufacturerRootCertificate, otherwise the answer is InvalidCertificate and an
InvalidFirmwareSigningCertificate event is raised. Accepted updates run through the
agent's A/B firmware manager (``charger/agent/features/firmware.py``) with
SignedFirmwareStatusNotification: Downloading, Downloaded, SignatureVerified (or
InvalidSignature), InstallScheduled when installDateTime lies ahead, Installing,
InstallRebooting, and Installed after booting the new image (with a FirmwareUpdated
event).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cryptography import x509

from charger.agent.features.diagnostics import ocpp_timestamp
from charger.agent.features.security.certificates import (
    CertificateError,
    load_pems,
    verify_chain,
)

log = logging.getLogger("charger.agent.security")


def signed_update(
    manager: Any,
    roots: list[x509.Certificate],
    request_id: int,
    firmware: dict[str, Any],
    retries: int | None,
    retry_interval: int | None,
    record_event: Callable[[str, str | None], None],
) -> str:
    """SignedUpdateFirmware.conf status; an accepted update starts in the background.

    ``firmware`` as the ocpp package hands it over (snake_case keys)."""
    try:
        verify_chain(load_pems(firmware["signing_certificate"]), roots)
    except CertificateError as exc:
        log.warning("SignedUpdateFirmware %s: %s", request_id, exc)
        record_event("InvalidFirmwareSigningCertificate", f"requestId {request_id}: {exc}")
        return "InvalidCertificate"
    if manager.busy_installing():
        log.warning("SignedUpdateFirmware %s rejected: an image is being installed", request_id)
        return "Rejected"
    status = "AcceptedCanceled" if manager.busy() else "Accepted"
    manager.update_firmware(
        firmware["location"],
        firmware["retrieve_date_time"],
        retries,
        retry_interval,
        signed={
            "request_id": request_id,
            "certificate": firmware["signing_certificate"],
            "signature": firmware["signature"],
            "install_at": ocpp_timestamp(firmware.get("install_date_time")),
        },
    )
    return status
