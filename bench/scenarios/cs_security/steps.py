"""Steps the security _CS cases share ("Improved security for OCPP 1.6-J", edition 3).

The bench plays the charge point's Central System. Operations that change what the
CSMS itself must accept next (a new AuthorizationKey, a higher SecurityProfile, a
CertificateSigned from its CA) go through the CSMS's one operations implementation
(:func:`operate`), so the CSMS expects what the charge point will do; a request the
charge point must refuse (a downgrade) is sent raw (``t.call``).

What a handshake showed is read from the CSMS's record of every accepted connection
(``CentralSystem.connections``: port profile, Basic-auth user, TLS version and suite,
client certificate). Times are simulated seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ocpp.v16 import call

from bench.csms.operation_types import OperationError
from bench.scenarios.cs_core.steps import REBOOT_WITHIN, idle
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.security.ca import CertificateAuthority, certificate_hash_data, load_chain
from bench.security.pki import _issue_server, _key_pem, _new_key, _write, ensure_pki
from charger.protocol.errors import CallErrorReceived, NotConnected

PROFILE = "profile.security"
CS_ROOT = "CentralSystemRootCertificate"
MF_ROOT = "ManufacturerRootCertificate"
RECONNECT_WITHIN = 60.0  # disconnect, back-off, TCP + TLS + WebSocket handshake
EVENT_WITHIN = 30.0  # a security event reaches the CSMS (the outbox may retry)
#: TLS 1.2 suites a charge point may agree to (whitepaper list with an RSA server key,
#: and the seed charger's static-RSA ones); TLS 1.3 suites are all AEAD and allowed.
TLS12_SUITES = (
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
)


HOW = {
    1: "over plain ws to its profile-1 port with HTTP Basic auth",
    2: "over TLS to its profile-2 port with HTTP Basic auth",
    3: "over TLS with a client certificate to its profile-3 port",
}


async def ready(t: Handle) -> None:
    """The charge point booted and is idle; if it never connected, say how the CSMS
    expected it to (the profile it is provisioned with)."""
    try:
        await idle(t)
    except ScenarioFailed as exc:
        if t.from_dut(0, "BootNotification"):
            raise
        profile = (t.csms.store.security(t.cp_id) or {}).get("profile")
        raise ScenarioFailed(
            f"the charge point never connected and booted ({exc}); provisioned with "
            f"security profile {profile}, the CSMS accepts it only {HOW.get(profile, '?')}"
        ) from None


# --- the CSMS's operations ---------------------------------------------------------------


async def operate(t: Handle, action: str, within: float = 10.0, **fields: Any) -> dict[str, Any]:
    """``action`` through the CSMS's operations (it fills and remembers what it must);
    the response payload. A refusal of the CSMS itself or no answer fails the case."""
    t.step(f"send {action} {_shown(fields)}".rstrip())
    try:
        outcome = await asyncio.wait_for(
            t.csms.operate(t.cp_id, action, fields), t.clock.wall(within)
        )
    except OperationError as exc:
        raise ScenarioFailed(f"the bench could not send {action}: {exc}") from None
    except NotConnected:
        raise ScenarioFailed(f"{action}: the charge point is not connected") from None
    except CallErrorReceived as exc:
        raise ScenarioFailed(f"{action} answered with CALLERROR {exc.code}") from None
    except TimeoutError:
        raise ScenarioFailed(f"{action}: no response within {within:g} s") from None
    return outcome.response


def _shown(fields: dict[str, Any]) -> str:
    secret = ("value", "certificate", "certificateChain", "firmware")
    return " ".join(f"{k}={v}" for k, v in fields.items() if k not in secret and len(str(v)) < 60)


def status_is(t: Handle, action: str, answer: dict[str, Any], *expected: str) -> None:
    t.check(
        answer.get("status") in expected,
        f"{action} answered status {answer.get('status')!r} ({_brief(answer)}), "
        f"not {' or '.join(expected)}",
    )


def _brief(answer: dict[str, Any]) -> str:
    text = str(answer)
    return text if len(text) < 200 else text[:200] + "..."


async def change_configuration(
    t: Handle, key: str, value: str, *expected: str, raw: bool = False
) -> dict[str, Any]:
    """ChangeConfiguration; ``raw``: sent as is (the CSMS would not send a downgrade)."""
    if raw:
        answer = await t.call(call.ChangeConfiguration(key=key, value=value))
    else:
        answer = await operate(t, "ChangeConfiguration", key=key, value=value)
    status_is(t, f"ChangeConfiguration {key}={_value(key, value)}", answer, *expected)
    return answer


def _value(key: str, value: str) -> str:
    return "<new key>" if key == "AuthorizationKey" else value


# --- connections as the CSMS saw them --------------------------------------------------------


class Connections:
    """A point in the CSMS's list of accepted connections of this charge point; survives
    a CSMS restart (a new CSMS starts a new list)."""

    def __init__(self, t: Handle) -> None:
        self.t = t
        self.csms = t.csms
        self.count = len(connections(t))

    def after(self) -> list[dict[str, Any]]:
        seen = connections(self.t)
        return seen[self.count :] if self.t.csms is self.csms else seen

    async def next(self, within: float = RECONNECT_WITHIN, why: str = "") -> dict[str, Any]:
        """The first connection after this point; fails if none comes within ``within``."""
        t = self.t
        t.step(f"expect the charge point to connect again within {within:g} s")
        deadline = t.clock.time() + within
        while not self.after():
            if t.clock.time() > deadline:
                raise ScenarioFailed(
                    f"the charge point did not connect to the CSMS within {within:g} s"
                    + (f" {why}" if why else "")
                )
            await t.sleep(0.2)
        return self.after()[0]

    async def none(self, during: float, why: str) -> None:
        """No connection is accepted during ``during`` seconds."""
        self.t.step(f"expect no connection during {during:g} s")
        await self.t.sleep(during)
        if self.after():
            first = self.after()[0]
            raise ScenarioFailed(f"the charge point connected {why} ({_handshake_text(first)})")


def connections(t: Handle) -> list[dict[str, Any]]:
    return [c for c in t.csms.connections if c["cp_id"] == t.cp_id]


def current_connection(t: Handle) -> dict[str, Any]:
    seen = connections(t)
    t.check(bool(seen), "the CSMS has no connection of the charge point")
    return seen[-1]


def _handshake_text(c: dict[str, Any]) -> str:
    tls = f"{c['tls_version']} {c['cipher']}" if c.get("tls_version") else "no TLS"
    cert = "a client certificate" if c.get("client_certificate") else "no client certificate"
    return f"profile-{c.get('profile')} port, {tls}, user {c.get('username')!r}, {cert}"


def check_handshake(t: Handle, c: dict[str, Any], profile: int, what: str) -> None:
    """The connection came in on ``profile``'s port with what that profile requires:
    plain ws + Basic (1), TLS 1.2+ with an allowed suite + Basic (2), TLS 1.2+ with a
    client certificate (3)."""
    t.details.setdefault("handshakes", []).append(
        {k: v for k, v in c.items() if k != "client_certificate"}
    )
    t.check(
        c.get("profile") == profile,
        f"{what}: the charge point connected on the {_handshake_text(c)}, "
        f"not with security profile {profile}",
    )
    if profile == 1:
        t.check(c.get("tls_version") is None, f"{what}: profile 1 is plain ws, got TLS")
    else:
        version = c.get("tls_version")
        t.check(version in ("TLSv1.2", "TLSv1.3"), f"{what}: TLS version {version}, not 1.2+")
        if version == "TLSv1.2":
            t.check(
                c.get("cipher") in TLS12_SUITES,
                f"{what}: cipher suite {c.get('cipher')} is not one the whitepaper allows",
            )
    if profile in (1, 2):
        t.check(
            c.get("username") == t.cp_id,
            f"{what}: Basic-auth user {c.get('username')!r}, not the charge point id {t.cp_id}",
        )
    else:
        t.check(c.get("client_certificate") is not None, f"{what}: no client certificate")


# --- configuration ------------------------------------------------------------------------------


async def security_profile(t: Handle) -> str | None:
    return await t.config_value("SecurityProfile")


async def key_not_disclosed(t: Handle, key: str) -> None:
    """GetConfiguration never returns the AuthorizationKey's value (write-only)."""
    found, _ = await t.get_configuration(["AuthorizationKey"])
    entry = found.get("AuthorizationKey") or {}
    t.check(
        not entry.get("value") or entry["value"] != key,
        "GetConfiguration returns the AuthorizationKey's value; it is write-only",
    )


async def reboot(t: Handle, kind: str = "Soft") -> Connections:
    """Reset ``kind``: Accepted, a new BootNotification; the connection it came back on."""
    seen = Connections(t)
    mark = t.mark()
    answer = await t.call(call.Reset(type=kind))
    status_is(t, f"Reset {kind}", answer, "Accepted")
    await t.expect("BootNotification", within=REBOOT_WITHIN, since=mark)
    return seen


# --- security events --------------------------------------------------------------------------


def event_types(t: Handle, since: int = 0) -> list[str]:
    return [f["payload"].get("type") for f in t.from_dut(since, "SecurityEventNotification")]


async def expect_event(
    t: Handle, kind: str, since: int, within: float = EVENT_WITHIN, why: str = ""
) -> dict[str, Any]:
    """A SecurityEventNotification of ``kind``; fails naming the events that came."""
    try:
        event = await t.expect("SecurityEventNotification", {"type": kind}, within, since)
    except ScenarioFailed:
        seen = event_types(t, since)
        raise ScenarioFailed(
            f"no SecurityEventNotification {kind} within {within:g} s"
            + (f" {why}" if why else "")
            + f"; the charge point sent {seen or 'no security event'}"
        ) from None
    t.check(bool(event.get("timestamp")), f"SecurityEventNotification {kind} has no timestamp")
    return event


# --- certificates --------------------------------------------------------------------------


def scratch(t: Handle) -> Path:
    """A directory in the case's state for certificates the bench makes up."""
    path = t.system.state.root / "scratch-pki"
    path.mkdir(exist_ok=True)
    return path


def new_ca(t: Handle, name: str) -> CertificateAuthority:
    """A CA of its own (``name``), unrelated to the bench's CPO and manufacturer CAs."""
    files = ensure_pki(scratch(t) / name)
    return CertificateAuthority.load(files.ca_cert, files.ca_key)


def server_identity(t: Handle, ca: CertificateAuthority, name: str, host: str) -> tuple[str, str]:
    """A TLS server certificate for ``host`` issued by ``ca``: (cert file, key file)."""
    key = _new_key()
    cert = _issue_server(key, ca.cert, ca.key, (host,))  # type: ignore[arg-type]
    cert_file, key_file = scratch(t) / f"{name}.pem", scratch(t) / f"{name}.key"
    _write(key_file, _key_pem(key), private=True)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_file), str(key_file)


async def present_server_certificate(t: Handle, identity: tuple[str, str] | None, what: str):
    """Restart the CSMS so that its main port presents ``identity`` (None: the bench's
    own server certificate again). The charge point loses its connection."""
    t.step(f"restart the CSMS presenting {what}")
    t.system.server_identity = identity
    await t.system.stop_csms()
    await t.system.start_csms()


async def installed(t: Handle, kind: str) -> list[dict[str, Any]]:
    """GetInstalledCertificateIds ``kind``: the hash data listed (NotFound: none)."""
    answer = await operate(t, "GetInstalledCertificateIds", certificateType=kind)
    status_is(t, f"GetInstalledCertificateIds {kind}", answer, "Accepted", "NotFound")
    listed = list(answer.get("certificateHashData") or [])
    t.check(
        answer["status"] == "Accepted" or not listed,
        f"GetInstalledCertificateIds {kind} answered NotFound with certificates: {listed}",
    )
    t.check(
        answer["status"] == "NotFound" or bool(listed),
        f"GetInstalledCertificateIds {kind} answered Accepted but listed nothing",
    )
    return listed


def same_certificate(entry: dict[str, Any], pem: str) -> bool:
    """Whether certificateHashData ``entry`` identifies the certificate ``pem`` (computed
    with the hash algorithm the entry names, as OCSP's CertID)."""
    algorithm = str(entry.get("hashAlgorithm", "SHA256"))
    if algorithm not in ("SHA256", "SHA384", "SHA512"):
        return False
    want = certificate_hash_data(pem, algorithm)
    return all(
        str(entry.get(k, "")).lower().lstrip("0") == want[k].lower().lstrip("0")
        for k in ("issuerNameHash", "issuerKeyHash", "serialNumber")
    )


async def expect_listed(t: Handle, kind: str, pem: str, what: str) -> dict[str, Any]:
    listed = await installed(t, kind)
    found = [e for e in listed if same_certificate(e, pem)]
    t.check(
        bool(found),
        f"GetInstalledCertificateIds {kind} does not list {what} "
        f"(serial {certificate_hash_data(pem)['serialNumber']}); it lists {listed or 'nothing'}",
    )
    return found[0]


async def ensure_root(t: Handle, kind: str, pem: str, what: str) -> None:
    """A precondition: ``pem`` is one of the charge point's ``kind`` roots (installed now
    with InstallCertificate, which must be Accepted, unless it is listed already)."""
    if any(same_certificate(e, pem) for e in await installed(t, kind)):
        return
    answer = await operate(t, "InstallCertificate", certificateType=kind, certificate=pem)
    status_is(t, f"InstallCertificate {kind} ({what})", answer, "Accepted")


def bench_root(t: Handle, kind: str) -> str:
    return (t.csms.cpo_ca() if kind == CS_ROOT else t.csms.manufacturer_ca()).pem


# --- the CSR flow ----------------------------------------------------------------------------


async def call_result(t: Handle, action: str, since: int, within: float) -> dict[str, Any]:
    """The charge point's answer to the first ``action`` the bench sent after ``since``."""
    deadline = t.clock.time() + within
    while True:
        trace = t.system.trace
        sent = [
            f
            for f in trace[since:]
            if f["sender"] == "bench" and f["message_type"] == 2 and f["action"] == action
        ]
        if sent:
            uid = sent[0]["unique_id"]
            for f in trace[since:]:
                if f["sender"] == "dut" and f["message_type"] in (3, 4) and f["unique_id"] == uid:
                    if f["message_type"] == 4:
                        raise ScenarioFailed(f"{action} answered with a CALLERROR {f['payload']}")
                    return f["payload"]
        if t.clock.time() > deadline:
            what = "answered" if sent else "sent"
            raise ScenarioFailed(f"{action} was not {what} within {within:g} s")
        await t.sleep(0.2)


async def request_csr(t: Handle) -> x509.CertificateSigningRequest:
    """ExtendedTriggerMessage SignChargePointCertificate: Accepted, then a SignCertificate
    whose CSR is well formed, signed by its own key and strong enough."""
    from bench.security.ca import CsrError, check_csr

    mark = t.mark()
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    answer = await t.call(trigger)
    status_is(t, "ExtendedTriggerMessage SignChargePointCertificate", answer, "Accepted")
    request = await t.expect("SignCertificate", within=30, since=mark)
    try:
        csr = check_csr(str(request.get("csr")))
    except CsrError as exc:
        raise ScenarioFailed(f"SignCertificate carries an unusable CSR: {exc}") from None
    reply = await t.answer(request)
    status_is(t, "the CSMS's SignCertificate.conf", reply, "Accepted")
    return csr


async def renew_certificate(t: Handle) -> str:
    """The CSR flow (074): the CSMS's CPO CA signs the CSR and sends CertificateSigned,
    which the charge point accepts. Returns the chain it was sent (PEM)."""
    mark = t.mark()
    csr = await request_csr(t)
    answer = await call_result(t, "CertificateSigned", mark, within=30)
    sent = next(
        f["payload"]
        for f in t.system.trace[mark:]
        if f["sender"] == "bench" and f["action"] == "CertificateSigned" and f["message_type"] == 2
    )
    chain = str(sent["certificateChain"])
    leaf = load_chain(chain)[0]
    t.check(
        leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == csr.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "the bench's CertificateSigned does not carry the CSR's key (bench defect)",
    )
    status_is(t, "CertificateSigned (a valid chain from the CPO CA)", answer, "Accepted")
    t.details["issued_serial"] = format(leaf.serial_number, "x")
    return chain


async def upgrade_to_profile_3(t: Handle, chain: str) -> dict[str, Any]:
    """ChangeConfiguration SecurityProfile 3 (the charge point holds a valid
    ChargePointCertificate now): Accepted, then a connection on the profile-3 port whose
    client certificate is the one the CSMS issued."""
    seen = Connections(t)
    await change_configuration(t, "SecurityProfile", "3", "Accepted")
    c = await seen.next(why="with security profile 3 after accepting it")
    check_handshake(t, c, 3, "after the upgrade to profile 3")
    check_client_certificate(t, c, chain)
    return c


def check_client_certificate(t: Handle, c: dict[str, Any], chain: str) -> None:
    presented = load_chain(str(c["client_certificate"]))[0]
    issued = load_chain(chain)[0]
    t.details["client_certificate"] = presented.subject.rfc4514_string()
    t.check(
        presented.serial_number == issued.serial_number,
        f"the charge point presented the certificate with serial "
        f"{presented.serial_number:x}, not the one it was sent ({issued.serial_number:x})",
    )


# --- the security log --------------------------------------------------------------------------


async def fetch_security_log(t: Handle) -> tuple[str, str]:
    """GetLog SecurityLog to the CSMS's FTP server: Accepted with a file name,
    LogStatusNotification Uploading then Uploaded (same requestId), the file there.
    Returns (file name, its text)."""
    mark = t.mark()
    answer = await operate(t, "GetLog", logType="SecurityLog")
    status_is(t, "GetLog SecurityLog", answer, "Accepted")
    name = answer.get("filename")
    t.check(bool(name), f"GetLog.conf names no file: {answer}")
    sent = next(
        f["payload"]
        for f in t.system.trace[mark:]
        if f["sender"] == "bench" and f["action"] == "GetLog" and f["message_type"] == 2
    )
    request_id = sent["requestId"]
    found = await t.expect_sequence(
        [
            ("LogStatusNotification", {"status": "Uploading"}),
            ("LogStatusNotification", {"status": "Uploaded"}),
        ],
        within=60,
        since=mark,
    )
    for payload in found:
        t.check(
            payload.get("requestId") == request_id,
            f"LogStatusNotification {payload.get('status')} has requestId "
            f"{payload.get('requestId')!r}, not the GetLog's {request_id}",
        )
    statuses = [f["payload"].get("status") for f in t.from_dut(mark, "LogStatusNotification")]
    t.check("UploadFailure" not in statuses, f"the upload also failed: {statuses}")
    ftp = t.csms.ftp
    t.check(ftp is not None, "the CSMS's FTP server is not running")
    path = ftp.diagnostics_dir / str(name)
    t.check(
        path.is_file(),
        f"the charge point reported Uploaded, but {name!r} is not on the FTP server "
        f"(it has {sorted(f['name'] for f in t.csms.diagnostics_files()) or 'nothing'})",
    )
    data = path.read_bytes()
    t.check(len(data) > 0, f"the uploaded security log {name!r} is empty")
    t.details["security_log"] = {"file": name, "bytes": len(data)}
    return str(name), _text(data)


def _text(data: bytes) -> str:
    """The log's text; a zip or tar.gz archive is opened and its members joined."""
    import io
    import tarfile
    import zipfile

    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "\n".join(z.read(n).decode(errors="replace") for n in z.namelist())
    if data[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            out = []
            for member in tar.getmembers():
                handle = tar.extractfile(member)
                if handle is not None:
                    out.append(handle.read().decode(errors="replace"))
            return "\n".join(out)
    return data.decode(errors="replace")
