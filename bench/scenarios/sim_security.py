"""The simulated charge point's side of the security extension (for the ``_CSMS`` cases).

A well-behaved charge point after the whitepaper, with real cryptography: it makes a
key pair and a CSR (SignChargePointCertificate), verifies a CertificateSigned chain up to
an installed CentralSystemRootCertificate and against its own key, keeps root
certificates and answers for them by their hash data, uploads its security log over
FTP, checks a signed firmware's certificate against its ManufacturerRootCertificate and
the signature over the file, changes its AuthorizationKey and raises its security
profile by reconnecting (profile 3 with its client certificate, falling back to the old
profile if that fails). It sends the security events those steps call for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.v16 import call

from bench.security.ca import certificate_hash_data, verify_data
from charger.agent.features.security.certificates import same_hash_data
from charger.protocol.tls import client_ssl_context

if TYPE_CHECKING:
    from bench.scenarios.csms_role import SimChargePoint

log = logging.getLogger("bench.sim_security")

Answer = tuple[dict[str, Any], Awaitable[Any] | None]
CS_ROOT = "CentralSystemRootCertificate"
MF_ROOT = "ManufacturerRootCertificate"
MAX_CHAIN = 10_000  # CertificateSignedMaxChainSize
STORE_MAX = 10  # CertificateStoreMaxLength


@dataclass
class Endpoint:
    """Where the charge point connects with one profile (``ca_file`` for wss)."""

    url: str
    ca_file: str | None = None


@dataclass
class CpSecurity:
    """The charge point's certificates, keys, security log and profile."""

    cp: SimChargePoint
    profile: int = 2
    endpoints: dict[int, Endpoint] = field(default_factory=dict)
    roots: dict[str, list[str]] = field(default_factory=lambda: {CS_ROOT: [], MF_ROOT: []})
    certificate: str | None = None  # the installed ChargePointCertificate chain
    key: ec.EllipticCurvePrivateKey | None = None
    pending_key: ec.EllipticCurvePrivateKey | None = None
    cpo_name: str | None = None
    security_log: list[str] = field(default_factory=list)
    firmware: bytes | None = None  # the last image downloaded
    #: 081: the download arrives altered, so the signature cannot verify.
    corrupt_download: bool = False
    reconnect_pause: float = 1.0
    #: Outcome of each reconnection after a key or profile change: "ok" or why it failed.
    switches: list[str] = field(default_factory=list)
    #: 077: a reason to refuse the next CertificateSigned chain.
    refuse_certificate: str | None = None
    _tmp: Path | None = None

    # -- the CSMS's requests -------------------------------------------------------------------

    def answer(self, action: str, p: dict[str, Any]) -> Answer:
        handler: Callable[[dict[str, Any]], Answer] = getattr(self, f"_on_{action}")
        return handler(p)

    def _on_ExtendedTriggerMessage(self, p: dict[str, Any]) -> Answer:
        message = p["requestedMessage"]
        if message == "SignChargePointCertificate":
            return {"status": "Accepted"}, self.send_csr()
        if message == "LogStatusNotification":
            return {"status": "Accepted"}, self._send(call.LogStatusNotification("Idle"))
        if message == "FirmwareStatusNotification":
            return {"status": "Accepted"}, self._send(call.SignedFirmwareStatusNotification("Idle"))
        answer, follow = self.cp._trigger(p)
        return answer, follow

    def _on_CertificateSigned(self, p: dict[str, Any]) -> Answer:
        chain = p["certificateChain"]
        problem = self.check_chain(chain)
        if problem is not None:
            self.event("InvalidChargePointCertificate", problem)
            return {"status": "Rejected"}, self.send_event("InvalidChargePointCertificate", problem)
        self.certificate, self.key, self.pending_key = chain, self.pending_key, None
        self.note("ChargePointCertificate installed")
        return {"status": "Accepted"}, None

    def _on_InstallCertificate(self, p: dict[str, Any]) -> Answer:
        kind, pem = p["certificateType"], p["certificate"]
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (ValueError, x509.ExtensionNotFound):
            return {"status": "Rejected"}, None
        if not is_ca:
            return {"status": "Rejected"}, None
        if pem not in self.roots[kind]:
            if len(self.roots[kind]) >= STORE_MAX:
                return {"status": "Failed"}, None
            self.roots[kind].append(pem)
        self.note(f"{kind} installed")
        return {"status": "Accepted"}, None

    def _on_DeleteCertificate(self, p: dict[str, Any]) -> Answer:
        wanted = p["certificateHashData"]
        for kind, pems in self.roots.items():
            for pem in pems:
                if _same_hash(pem, wanted):
                    if kind == CS_ROOT and len(pems) == 1:
                        return {"status": "Failed"}, None  # never the last CS root (AQ-1)
                    pems.remove(pem)
                    self.note(f"{kind} deleted")
                    return {"status": "Accepted"}, None
        return {"status": "NotFound"}, None

    def _on_GetInstalledCertificateIds(self, p: dict[str, Any]) -> Answer:
        pems = self.roots.get(p["certificateType"], [])
        if not pems:
            return {"status": "NotFound"}, None
        hashes_ = [certificate_hash_data(pem) for pem in pems]
        return {"status": "Accepted", "certificateHashData": hashes_}, None

    def _on_GetLog(self, p: dict[str, Any]) -> Answer:
        name = f"{p['logType'].lower()}-{p['requestId']}.log"
        return {"status": "Accepted", "filename": name}, self._upload_log(p, name)

    def _on_SignedUpdateFirmware(self, p: dict[str, Any]) -> Answer:
        firmware = p["firmware"]
        problem = self.check_signing_certificate(firmware["signingCertificate"])
        if problem is not None:
            self.event("InvalidFirmwareSigningCertificate", problem)
            return {"status": "InvalidCertificate"}, self.send_event(
                "InvalidFirmwareSigningCertificate", problem
            )
        return {"status": "Accepted"}, self._update(p["requestId"], firmware)

    # -- configuration keys of the whitepaper -----------------------------------------------------

    def change(self, key: str, value: str) -> Answer | None:
        """ChangeConfiguration of a security key (None: not one of them)."""
        if key == "AuthorizationKey":
            if not 16 <= len(value) <= 40:
                return {"status": "Rejected"}, None
            self.event("ReconfigurationOfSecurityParameters", "AuthorizationKey")
            return {"status": "Accepted"}, self._reconnect(password=value)
        if key == "SecurityProfile":
            try:
                wanted = int(value)
            except ValueError:
                return {"status": "Rejected"}, None
            if wanted <= self.profile or wanted not in self.endpoints:
                return {"status": "Rejected"}, None  # never downwards (084)
            if wanted >= 2 and not self.roots[CS_ROOT]:
                return {"status": "Rejected"}, None
            if wanted == 3 and self.certificate is None:
                return {"status": "Rejected"}, None
            self.event("ReconfigurationOfSecurityParameters", f"SecurityProfile {wanted}")
            return {"status": "Accepted"}, self._reconnect(profile=wanted)
        if key == "CpoName":
            self.cpo_name = value
            return {"status": "Accepted"}, None
        return None

    # -- checks -------------------------------------------------------------------------------

    def check_chain(self, chain_pem: str) -> str | None:
        """Why a CertificateSigned chain is not acceptable, or None."""
        if self.refuse_certificate:
            return self.refuse_certificate
        if len(chain_pem) > MAX_CHAIN:
            return f"chain of {len(chain_pem)} bytes exceeds {MAX_CHAIN}"
        try:
            chain = x509.load_pem_x509_certificates(chain_pem.encode())
        except ValueError as exc:
            return f"not a PEM chain: {exc}"
        leaf = chain[0]
        if self.pending_key is None or leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != self.pending_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            return "the certificate is not for the key of the last CSR"
        return _chains_to(chain, self.roots[CS_ROOT])

    def check_signing_certificate(self, pem: str) -> str | None:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            return f"not a PEM certificate: {exc}"
        return _chains_to([cert], self.roots[MF_ROOT])

    # -- what the charge point sends ----------------------------------------------------------

    async def send_csr(self) -> None:
        """New key pair, CSR (CN = charge point id, O = CpoName if set), SignCertificate."""
        self.pending_key = ec.generate_private_key(ec.SECP256R1())
        names = [x509.NameAttribute(NameOID.COMMON_NAME, self.cp.cp_id)]
        if self.cpo_name:
            names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.cpo_name))
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(names))
            .sign(self.pending_key, hashes.SHA256())
        )
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        await self._send(call.SignCertificate(csr=pem))

    def event(self, kind: str, info: str = "") -> None:
        self.note(f"{kind} {info}".strip())

    def note(self, line: str) -> None:
        self.security_log.append(f"{self.cp.now()} {line}")

    async def send_event(self, kind: str, info: str = "") -> None:
        await self._send(
            call.SecurityEventNotification(
                type=kind, timestamp=self.cp.now(), tech_info=info[:255] or None
            )
        )

    async def _send(self, payload: Any) -> None:
        await self.cp._send(payload)

    async def _upload_log(self, p: dict[str, Any], name: str) -> None:
        from bench.scenarios.ftp_client import upload

        request_id = p["requestId"]
        await self._send(call.LogStatusNotification("Uploading", request_id))
        data = ("\n".join(self.security_log) + "\n").encode()
        try:
            await asyncio.to_thread(upload, p["log"]["remoteLocation"], name, data)
            status = "Uploaded"
        except Exception as exc:  # noqa: BLE001 - any failure is UploadFailure
            log.info("log upload failed: %s", exc)
            status = "UploadFailure"
        await self._send(call.LogStatusNotification(status, request_id))

    async def _update(self, request_id: int, firmware: dict[str, Any]) -> None:
        from bench.scenarios.ftp_client import download

        async def status(value: str) -> None:
            await self._send(call.SignedFirmwareStatusNotification(value, request_id))

        await status("Downloading")
        try:
            data = await asyncio.to_thread(download, firmware["location"])
        except Exception as exc:  # noqa: BLE001
            log.info("firmware download failed: %s", exc)
            await status("DownloadFailed")
            return
        if self.corrupt_download:
            data = data[:-1] + bytes([data[-1] ^ 0xFF]) if data else b"\xff"
        await status("Downloaded")
        if not verify_data(firmware["signingCertificate"], data, firmware["signature"]):
            self.event("InvalidFirmwareSignature")
            await status("InvalidSignature")
            await self.send_event("InvalidFirmwareSignature", "signature over the file")
            return
        await status("SignatureVerified")
        self.firmware = data
        await status("Installing")
        await status("Installed")
        self.event("FirmwareUpdated")
        await self.send_event("FirmwareUpdated")

    async def _reconnect(self, password: str | None = None, profile: int | None = None) -> None:
        """Disconnect and connect with the new key or profile; fall back if that fails."""
        cp = self.cp
        old = (cp.password, self.profile, cp.url, cp.ca_file, cp.ssl_context)
        await asyncio.sleep(0.05)  # the answer is on the wire first
        await cp.disconnect()
        await cp.clock.sleep(self.reconnect_pause)
        if password is not None:
            cp.password = password
        if profile is not None:
            self.apply_profile(profile)
        try:
            await cp.connect()
            self.switches.append("ok")
        except Exception as exc:  # noqa: BLE001 - whatever it was, go back
            log.info("reconnect with the new settings failed (%s); falling back", exc)
            cp.password, self.profile, cp.url, cp.ca_file, cp.ssl_context = old
            with contextlib.suppress(Exception):
                await cp.connect()
            cp.errors.append(f"reconnect after the change failed: {exc}")
            self.switches.append(f"{type(exc).__name__}: {exc}")

    def apply_profile(self, profile: int) -> None:
        """Connection settings for ``profile`` (3: the client certificate, no password)."""
        endpoint = self.endpoints[profile]
        self.profile = profile
        self.cp.url = endpoint.url
        self.cp.ca_file = endpoint.ca_file
        self.cp.ssl_context = None
        if profile == 3:
            self.cp.ssl_context = self.client_context(endpoint.ca_file)
            self.cp.password = None

    def client_context(self, ca_file: str | None) -> ssl.SSLContext:
        """TLS context presenting the ChargePointCertificate (and its key)."""
        if self.certificate is None or self.key is None:
            raise RuntimeError("no ChargePointCertificate installed")
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="bench-sim-cp-"))
        cert_file, key_file = self._tmp / "cp.pem", self._tmp / "cp.key"
        cert_file.write_text(self.certificate)
        key_file.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        ctx = client_ssl_context(ca_file) if ca_file else ssl.create_default_context()
        ctx.load_cert_chain(cert_file, key_file)
        return ctx

    def close(self) -> None:
        if self._tmp is not None:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _same_hash(pem: str, wanted: dict[str, Any]) -> bool:
    try:
        mine = certificate_hash_data(pem, wanted.get("hashAlgorithm", "SHA256"))
    except (KeyError, ValueError):
        return False
    return same_hash_data(mine, wanted)


def _chains_to(chain: list[x509.Certificate], roots: list[str]) -> str | None:
    """None if ``chain`` (leaf first) is valid now and ends at one of ``roots``."""
    if not roots:
        return "no root certificate installed to verify against"
    anchors = [x509.load_pem_x509_certificate(r.encode()) for r in roots]
    from bench.security.pki import _now

    now = _now()
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return f"certificate {cert.subject.rfc4514_string()} is not valid now"
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return f"{child.subject.rfc4514_string()} is not issued by the next in the chain"
    top = chain[-1]
    for anchor in anchors:
        if top == anchor:
            return None
        try:
            top.verify_directly_issued_by(anchor)
            return None
        except (ValueError, TypeError, InvalidSignature):
            continue
    return f"{top.issuer.rfc4514_string()} is not an installed root"
