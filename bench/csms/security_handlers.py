"""Answers to the security extension's charge-point-initiated messages (whitepaper).

Plain functions over the store like :mod:`bench.csms.handlers`. SignCertificate is only
checked here (a CSR the CA would sign is Accepted); the CSMS signs it and sends
CertificateSigned from a task once the answer is on the wire
(``CentralSystem._on_answered``): awaiting a CALL inside the handler would deadlock.
"""

from __future__ import annotations

import logging
from typing import Any

from bench.csms.store import Store
from bench.security.ca import CsrError, check_csr
from charger.clock import Clock, iso

LOG = logging.getLogger(__name__)

Payload = dict[str, Any]


def _notify(store: Store, clock: Clock, cp_id: str, action: str, status: Any, p: Payload) -> str:
    now = iso(clock.now())
    store.add_notification(cp_id, action, status, p, now)
    return now


def sign_certificate(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    """Accepted when the CSR is one the CPO CA signs (whatever its O field), else Rejected."""
    try:
        check_csr(payload["csr"])
        status = "Accepted"
    except CsrError as exc:
        LOG.warning("%s: SignCertificate rejected: %s", cp_id, exc)
        status = "Rejected"
    _notify(store, clock, cp_id, "SignCertificate", status, payload)
    return {"status": status}


def security_event_notification(
    store: Store, clock: Clock, cp_id: str, payload: Payload
) -> Payload:
    """Kept as a notification row (status = the event type); critical ones are logged."""
    _notify(store, clock, cp_id, "SecurityEventNotification", payload["type"], payload)
    LOG.info("%s: security event %s %s", cp_id, payload["type"], payload.get("techInfo", ""))
    return {}


def log_status_notification(store: Store, clock: Clock, cp_id: str, payload: Payload) -> Payload:
    """History, and the GetLog request (by requestId, else the latest) follows it (not Idle)."""
    now = _notify(store, clock, cp_id, "LogStatusNotification", payload["status"], payload)
    if payload["status"] != "Idle":
        store.set_request_status(
            "log_requests", cp_id, payload.get("requestId"), payload["status"], now
        )
    return {}


def signed_firmware_status_notification(
    store: Store, clock: Clock, cp_id: str, payload: Payload
) -> Payload:
    """History, and the SignedUpdateFirmware request follows it (not Idle)."""
    status = payload["status"]
    now = _notify(store, clock, cp_id, "SignedFirmwareStatusNotification", status, payload)
    if status != "Idle":
        store.set_request_status("signed_firmware", cp_id, payload.get("requestId"), status, now)
    return {}


SECURITY_HANDLERS = {
    "SecurityEventNotification": security_event_notification,
    "SignedFirmwareStatusNotification": signed_firmware_status_notification,
    "LogStatusNotification": log_status_notification,
    "SignCertificate": sign_certificate,
}
