"""What the security ``_CSMS`` cases share: registration, certificate checks, waiting for
the Central System's answers to what the charge point sends on its own."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import SignatureAlgorithmOID
from ocpp.v16 import call
from websockets.exceptions import InvalidStatus, WebSocketException

from bench.scenarios.csms_core.steps import check_status
from bench.scenarios.csms_role import CsmsHandle
from bench.scenarios.handle import ScenarioFailed
from bench.scenarios.registry import scenario
from charger.protocol.frames import CALL, CALLERROR, CALLRESULT
from charger.protocol.transport import connect_client

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem

__all__ = ["check_status", "security_case"]

CS_ROOT = "CentralSystemRootCertificate"
MF_ROOT = "ManufacturerRootCertificate"
#: What the OCTT accepts: SHA256withRSA (and stronger RSA PKCS#1 v1.5) or ECDSA.
SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA256,
    SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512,
    SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}
WAIT_S = 30.0


def security_case(
    id: str, title: str, requires: tuple[str, ...] = (), timeout_s: float = 240.0
) -> Callable:
    """Register a case of the security profile for the ``csms`` role."""
    return scenario(
        id,
        title,
        role="csms",
        profile="security",
        requires=("profile.security", *requires),
        timeout_s=timeout_s,
    )


def local_dut(t: CsmsHandle) -> CentralSystem | None:
    """Our own CSMS (its state can be checked), or None for an external one."""
    return t.operator.csms


def certificates(t: CsmsHandle, what: str, pem: Any) -> list[x509.Certificate]:
    """The PEM chain ``pem``, each signed SHA256withRSA or ECDSA (never RSASSA-PSS)."""
    t.check(isinstance(pem, str) and "BEGIN CERTIFICATE" in pem, f"{what} is not PEM: {pem!r}")
    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise ScenarioFailed(f"{what} does not parse as PEM certificates: {exc}") from None
    for cert in chain:
        name = cert.subject.rfc4514_string()
        t.check(
            not isinstance(cert.signature_algorithm_parameters, padding.PSS),
            f"{what}: {name} is signed with RSASSA-PSS (the OCTT takes SHA256withRSA or ECDSA)",
        )
        t.check(
            cert.signature_algorithm_oid in SIGNATURES,
            f"{what}: {name} is signed with {cert.signature_algorithm_oid._name}",
        )
    return chain


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


async def answered(
    t: CsmsHandle, action: str, subset: dict[str, Any] | None, since: int, within: float = WAIT_S
) -> dict[str, Any]:
    """The CSMS's CALLRESULT to the first ``action`` the charge point sent after ``since``
    (matching ``subset``); a CALLERROR or no answer fails the case."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + t.clock.wall(within)
    while True:
        trace = t.bench.trace
        for n, frame in enumerate(trace[since:], since):
            if not (
                frame["sender"] == "bench"
                and frame["message_type"] == CALL
                and frame["action"] == action
                and all(frame["payload"].get(k) == v for k, v in (subset or {}).items())
            ):
                continue
            for reply in trace[n + 1 :]:
                if reply["sender"] == "dut" and reply["unique_id"] == frame["unique_id"]:
                    if reply["message_type"] == CALLERROR:
                        raise ScenarioFailed(
                            f"the CSMS answered {action} {subset or ''} with CALLERROR "
                            f"{reply['payload']}"
                        )
                    if reply["message_type"] == CALLRESULT:
                        return reply["payload"]
            break
        if loop.time() > deadline:
            errors = f"; the charge point: {t.cp.errors[-2:]}" if t.cp.errors else ""
            raise ScenarioFailed(
                f"no answer from the CSMS to the charge point's {action} {subset or ''} "
                f"within {within:g} s{errors}"
            )
        await t.bench.trace_changed(0.2)


async def event_answered(t: CsmsHandle, kind: str, since: int) -> None:
    """The charge point's SecurityEventNotification ``kind`` got an empty conf, and (ours)
    the Central System keeps and shows it."""
    t.expect_empty_conf(
        "SecurityEventNotification",
        await answered(t, "SecurityEventNotification", {"type": kind}, since),
    )
    dut = local_dut(t)
    if dut is not None:
        kinds = [e["type"] for e in dut.security_overview(t.cp_id)["security_events"]]
        t.check(kind in kinds, f"the CSMS does not show the {kind} event; it has {kinds}")


async def csr_flow(t: CsmsHandle) -> dict[str, Any]:
    """ExtendedTriggerMessage SignChargePointCertificate -> SignCertificate (a real CSR)
    -> Accepted -> CertificateSigned; returns that request."""
    since = t.mark()
    request, sent = await t.operated(
        t.operator.extended_trigger_message("SignChargePointCertificate"),
        "ExtendedTriggerMessage",
        {"requestedMessage": "SignChargePointCertificate"},
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(
            t, "the CSMS reported ExtendedTriggerMessage", outcome.get("status"), "Accepted"
        )
    answer = await answered(t, "SignCertificate", None, since)
    check_status(t, "the CSMS answered SignCertificate", answer.get("status"), "Accepted")
    return await t.expect_call("CertificateSigned", within=WAIT_S, since=since)


async def handshake_status(t: CsmsHandle, url: str, password: str | None, **kwargs: Any) -> str:
    """Open a separate connection as this charge point: "101", "HTTP 401", or the error.
    TLS settings default to the charge point's (its trusted root, its client context)."""
    kwargs.setdefault("ssl_context", t.cp.ssl_context)
    kwargs.setdefault("ca_file", t.cp.ca_file)
    kwargs.setdefault("open_timeout", 10)
    try:
        connection = await connect_client(url, t.cp_id, password, **kwargs)
    except InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}"
    except (OSError, WebSocketException, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return "101"


async def reconnected(t: CsmsHandle, switches_before: int, within: float = WAIT_S) -> None:
    """After a change that makes the charge point reconnect: the reconnection with the new
    key or profile succeeded (the CSMS accepted it) and a Heartbeat is answered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + t.clock.wall(within)
    switches = t.cp.security.switches
    while len(switches) <= switches_before:
        if loop.time() > deadline:
            raise ScenarioFailed("the charge point did not reconnect after the change")
        await asyncio.sleep(0.05)
    t.check(
        switches[-1] == "ok",
        f"the CSMS refused the charge point's connection with its new settings: {switches[-1]}",
    )
    t.step(f"reconnected on security profile {t.cp.security.profile}")
    response = await t.send(call.Heartbeat())
    t.check("currentTime" in response, f"the CSMS answered Heartbeat with {response}")


def b64(t: CsmsHandle, what: str, value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise ScenarioFailed(f"{what} is not base64: {value!r}") from None
