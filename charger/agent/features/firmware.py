"""Firmware Management for the agent: UpdateFirmware into the A/B slots, GetDiagnostics.

An update goes through phases, each saved (atomically) in ``STATE/agent/slots/update.json``
before the next one starts, so that a power cut resumes it or fails it cleanly::

    waiting      until retrieveDate (simulated clock)
    downloading  FirmwareStatusNotification Downloading; ftplib RETR into the inactive
                 slot's staging area, 1 + retries attempts retryInterval apart;
                 Downloaded, or DownloadFailed and the update ends
    downloaded   wait until no transaction runs (AQ-4: we download during a
                 transaction, but install and reboot only once all have ended)
    installing   Installing; check the image (signature by the trusted key, SHA-256 of
                 every file) and unpack it into the inactive slot (all or nothing);
                 a bad image: InstallationFailed, and nothing else changed
    activating   once no transaction runs: flip the active pointer, reboot (exit 75);
                 the supervisor starts the new slot, whose first boot confirms it,
                 BootNotification carries the new firmwareVersion, and after the
                 boot's StatusNotifications comes Installed. A slot that never comes
                 up is rolled back by the supervisor: the old firmware then reports
                 InstallationFailed.
    done / failed

Nothing before ``activating`` touches the running slot or the pointer.
"""

from __future__ import annotations

import asyncio
import ftplib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature
from charger.agent.features.diagnostics import StatusSender, checked_times, ocpp_timestamp
from charger.agent.ftp import ftp_download, redact_url, retry_plan
from charger.agent.fwimage import (
    MAX_IMAGE_BYTES,
    ImageError,
    Manifest,
    check_image,
    is_older,
    load_trust,
    verify_signature,
    write_atomically,
)
from charger.agent.slots import SlotStore

log = logging.getLogger("charger.agent.features.firmware")

RECORD = "update.json"
IDLE_POLL_S = 1.0
NOTIFY_BEFORE_REBOOT_S = 30.0  # how long Installing may take to reach the CSMS
FINAL = ("done", "failed")


def trusted_roots(settings: Any, installed: list[x509.Certificate] | None = None):
    """The manufacturer roots whose signed images this charger installs: the installed
    ManufacturerRootCertificates and the one it was provisioned with (settings)."""
    roots = list(installed or [])
    configured = getattr(settings, "manufacturer_root", None)
    if configured:
        try:
            roots += load_trust(Path(configured).read_bytes())
        except (OSError, ImageError) as exc:
            log.error("provisioned manufacturer root %s: %s", configured, exc)
    return roots


class FirmwareManager(Feature):
    """UpdateFirmware: download into the inactive A/B slot, verify, flip, reboot."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.slots = SlotStore(ctx.settings.state_dir)
        self.sender = StatusSender(
            ctx, lambda status: call.FirmwareStatusNotification(status=status)
        )
        # SignedUpdateFirmware (security whitepaper ed. 3): (status, requestId) items
        self.signed_sender = StatusSender(
            ctx,
            lambda item: call.SignedFirmwareStatusNotification(status=item[0], request_id=item[1]),
        )
        # Hooks the security feature sets: its installed ManufacturerRootCertificates, and
        # where security events go (type, techInfo).
        self.manufacturer_roots: Callable[[], list[x509.Certificate]] = list
        self.security_event: Callable[[str, str | None], None] = lambda kind, info: None
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.resume()  # an update interrupted by a reboot or power loss

    def triggered(self, requested: str, connector_id: int | None) -> list[Any] | None:
        if requested != "FirmwareStatusNotification":
            return None
        return [call.FirmwareStatusNotification(status=self.status())]

    @on(Action.update_firmware)
    def on_update_firmware(
        self,
        location: str,
        retrieve_date: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ):
        checked_times(retrieveDate=retrieve_date)
        self.update_firmware(location, retrieve_date, retries, retry_interval)
        return call_result.UpdateFirmware()

    # --- what the rest of the agent calls --------------------------------------

    def running_version(self) -> str:
        return self.slots.active_version(self.ctx.settings.firmware_version)

    def status(self) -> str:
        """FirmwareStatusNotification for TriggerMessage: the update's last status, or Idle."""
        record = self.load()
        if record is None or record["phase"] in FINAL:
            return "Idle"
        return record.get("status") or "Idle"

    def signed_status(self) -> tuple[str, int | None]:
        """SignedFirmwareStatusNotification for ExtendedTriggerMessage: (status, requestId)
        of a signed update in progress, else Idle."""
        record = self.load()
        if record is None or record["phase"] in FINAL or not record.get("signed"):
            return "Idle", None
        return record.get("status") or "Idle", record["signed"]["request_id"]

    def busy_installing(self) -> bool:
        current = self.load()
        return current is not None and current["phase"] in ("installing", "activating")

    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def resume(self) -> None:
        """At start, once the loop runs: confirm this firmware, go on with an update."""
        self.slots.confirm_boot()
        record = self.load()
        if record is None or record["phase"] in FINAL:
            return
        if record["phase"] == "activating":
            pointer = self.slots.pointer()
            if pointer.slot == record["target"]:
                self._start(self._report_installed(record))
                return
            if pointer.rejected == record["target"]:
                log.error("firmware %s did not come up; rolled back", record.get("version"))
                self._start(self._fail(record, "InstallationFailed"))
                return
        log.info("resuming the firmware update at %s", record["phase"])
        self._start(self._run(record))

    def update_firmware(
        self,
        location: str,
        retrieve_date: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        signed: dict[str, Any] | None = None,
    ) -> None:
        """UpdateFirmware.req (the .conf is empty): the update runs in the background."""
        current = self.load()
        if current is not None and current["phase"] in ("installing", "activating"):
            log.warning("UpdateFirmware ignored: firmware %s is being installed", current["id"])
            return
        if self.task is not None and not self.task.done():
            log.info("UpdateFirmware replaces the update in progress")
            self.task.cancel()
        attempts, interval = retry_plan(retries, retry_interval)
        record = {
            "id": uuid.uuid4().hex[:12],
            "location": location,
            "retrieve_at": ocpp_timestamp(retrieve_date) or self.ctx.clock.time(),
            "retries": attempts - 1,
            "retry_interval": interval,
            "phase": "waiting",
            "attempts": 0,
            "target": None,
            "file": None,
            "version": None,
            "status": None,
            # SignedUpdateFirmware: request_id, certificate, signature, install_at
            "signed": signed,
        }
        self.save(record)
        log.info("firmware update %s from %s", record["id"], redact_url(location))
        self._start(self._run(record))

    def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.sender.close()
        self.signed_sender.close()

    # --- the record ----------------------------------------------------------

    @property
    def record_path(self) -> Path:
        return self.slots.root / RECORD

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.record_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            log.error("firmware update record unreadable; forgetting it")
            return None

    def save(self, record: dict[str, Any]) -> None:
        write_atomically(self.record_path, (json.dumps(record, indent=1) + "\n").encode())

    # --- the update ----------------------------------------------------------

    def _start(self, coro: Any) -> None:
        self.task = asyncio.get_running_loop().create_task(coro, name="firmware-update")

    def _post(self, record: dict[str, Any], status: str) -> None:
        """Send a status once per update (not again when resuming after a power cut)."""
        if record.get("status") == status:
            return
        record["status"] = status
        self.save(record)
        if record.get("signed"):
            self.signed_sender.post((status, record["signed"]["request_id"]))
        else:
            self.sender.post(status)

    def _busy(self) -> bool:
        return self.ctx.transaction_active()

    async def _until_idle(self, what: str) -> None:
        if self._busy():
            log.info("firmware: waiting for the transactions to end before %s", what)
        while self._busy():
            await self.ctx.clock.sleep(IDLE_POLL_S)

    async def _run(self, record: dict[str, Any]) -> None:
        try:
            await self._phases(record)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not leave the update hanging
            log.exception("firmware update failed")
            downloading = record["phase"] in ("waiting", "downloading")
            await self._fail(record, "DownloadFailed" if downloading else "InstallationFailed")

    async def _phases(self, record: dict[str, Any]) -> None:
        clock = self.ctx.clock
        if record["phase"] == "waiting":
            delay = record["retrieve_at"] - clock.time()
            if delay > 0:
                log.info("firmware download in %.0f s (retrieveDate)", delay)
                await clock.sleep(delay)
            record.update(phase="downloading", target=self.slots.inactive())
            self.save(record)
        if record["phase"] == "downloading":
            self._post(record, "Downloading")
            if not await self._download(record):
                await self._fail(record, "DownloadFailed")
                return
            record["phase"] = "downloaded"
            self.save(record)
            self._post(record, "Downloaded")
        if record["phase"] == "downloaded":
            if record.get("signed"):  # checked again after a power cut: never skipped
                if not await self._signature_verified(record):
                    return
                await self._until_install_time(record)
            await self._until_idle("installing")
            record["phase"] = "installing"
            self.save(record)
        if record["phase"] == "installing":
            self._post(record, "Installing")
            try:
                manifest = await asyncio.to_thread(self._install, record)
            except ImageError as exc:
                log.error("firmware image refused: %s", exc)
                await self._fail(record, "InstallationFailed")
                return
            record.update(phase="activating", version=manifest.version)
            self.save(record)
            log.info("firmware %s installed in slot %s", manifest.version, record["target"])
        if record["phase"] == "activating":
            if record.get("signed"):
                self._post(record, "InstallRebooting")
                await self.signed_sender.drained(NOTIFY_BEFORE_REBOOT_S)
            await self.sender.drained(NOTIFY_BEFORE_REBOOT_S)
            await self._until_idle("rebooting")
            # no await from here on: no transaction can start before the reboot
            self.slots.activate(record["target"])
            log.info("rebooting into firmware %s", record["version"])
            self.ctx.reboot.set()

    async def _download(self, record: dict[str, Any]) -> bool:
        total = 1 + record["retries"]
        staging = self.slots.staging_dir(record["target"])
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        part = staging / f"{record['id']}.part"
        image = staging / f"{record['id']}.img"
        while record["attempts"] < total:
            record["attempts"] += 1
            self.save(record)
            try:
                size = await asyncio.to_thread(ftp_download, record["location"], part)
            except ValueError as exc:
                log.error("firmware download: %s", exc)
                return False
            except (OSError, EOFError, ftplib.Error) as exc:
                log.warning(
                    "firmware download from %s, attempt %d/%d: %s",
                    redact_url(record["location"]),
                    record["attempts"],
                    total,
                    exc,
                )
                if record["attempts"] < total:
                    await self.ctx.clock.sleep(record["retry_interval"])
                continue
            os.replace(part, image)
            record["file"] = str(image)
            log.info("firmware downloaded: %d bytes", size)
            return True
        return False

    def _install(self, record: dict[str, Any]) -> Manifest:
        """Check the staged image and unpack it into the inactive slot (in a thread)."""
        try:
            data = Path(record["file"]).read_bytes()
        except (OSError, TypeError):
            raise ImageError("the downloaded image is gone") from None
        image = check_image(data, trusted_roots(self.ctx.settings, self.manufacturer_roots()))
        running = self.running_version()
        if is_older(image.manifest.version, running) and not getattr(
            self.ctx.settings, "allow_firmware_downgrade", False
        ):
            raise ImageError(
                f"version {image.manifest.version} is older than the running {running}"
            )
        return self.slots.install(record["target"], image)

    async def _signature_verified(self, record: dict[str, Any]) -> bool:
        """Whitepaper ed. 3, use case L01 (Secure firmware update): the signature is
        checked over the downloaded file with the signing certificate; a bad one ->
        InvalidSignature and an InvalidFirmwareSignature event, the running firmware
        stays. (InstallScheduled until an installDateTime ahead is the caller's.)"""
        signed = record["signed"]
        path = Path(record["file"])
        ok = False
        try:
            if path.stat().st_size <= MAX_IMAGE_BYTES:
                cert = load_trust(signed["certificate"].encode())[0]
                data = await asyncio.to_thread(path.read_bytes)
                ok = verify_signature(cert, data, signed["signature"])
        except (OSError, ImageError) as exc:
            log.error("signed firmware: %s", exc)
        if not ok:
            log.error("signed firmware %s: the signature does not verify", record["id"])
            self.security_event(
                "InvalidFirmwareSignature", f"requestId {signed['request_id']}: bad signature"
            )
            await self._fail(record, "InvalidSignature")
            return False
        self._post(record, "SignatureVerified")
        return True

    async def _until_install_time(self, record: dict[str, Any]) -> None:
        wait = (record["signed"].get("install_at") or 0) - self.ctx.clock.time()
        if wait > 0:
            self._post(record, "InstallScheduled")
            await self.ctx.clock.sleep(wait)

    async def _report_installed(self, record: dict[str, Any]) -> None:
        """First boot of the new firmware: Installed, after the boot's StatusNotifications
        (and for a signed update the whitepaper's FirmwareUpdated security event)."""
        await self.ctx.accepted.wait()
        log.info("running firmware %s", record.get("version"))
        if record.get("signed"):
            self.security_event("FirmwareUpdated", f"version {record.get('version')}")
        self._post(record, "Installed")
        self._finish(record, "done")

    async def _fail(self, record: dict[str, Any], status: str) -> None:
        self._post(record, status)
        self._finish(record, "failed")

    def _finish(self, record: dict[str, Any], phase: str) -> None:
        record["phase"] = phase
        self.save(record)
        if record.get("target"):
            shutil.rmtree(self.slots.staging_dir(record["target"]), ignore_errors=True)
