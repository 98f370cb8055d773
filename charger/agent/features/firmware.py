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
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature
from charger.agent.features.diagnostics import (
    StatusSender,
    checked_times,
    ftp_connect,
    ocpp_timestamp,
    redact_url,
)
from charger.agent.fwimage import (
    ImageError,
    Manifest,
    check_image,
    load_public_key,
    write_atomically,
)
from charger.agent.slots import SlotStore

log = logging.getLogger("charger.agent.features.firmware")

RECORD = "update.json"
TRUSTED_KEY_FILE = "firmware.pub"  # in the agent's state dir, unless the settings name one
DEFAULT_RETRIES = 2
DEFAULT_RETRY_INTERVAL_S = 10.0
IDLE_POLL_S = 1.0
NOTIFY_BEFORE_REBOOT_S = 30.0  # how long Installing may take to reach the CSMS
FINAL = ("done", "failed")


def trusted_key_path(settings: Any) -> Path:
    configured = getattr(settings, "firmware_public_key", None)
    return Path(configured) if configured else Path(settings.state_dir) / TRUSTED_KEY_FILE


def trusted_key(settings: Any) -> Ed25519PublicKey | None:
    """The public key this charger was provisioned with (None: refuse every image)."""
    try:
        pem = trusted_key_path(settings).read_bytes()
    except FileNotFoundError:
        return None
    return load_public_key(pem)


def ftp_download(location: str, dest: Path) -> int:
    """RETR the file ``location`` names into ``dest`` (fsync'd); its size."""
    client, path = ftp_connect(location)
    try:
        with dest.open("wb") as out:
            client.retrbinary(f"RETR {path}", out.write)
            out.flush()
            os.fsync(out.fileno())
        client.quit()
    finally:
        client.close()
    return dest.stat().st_size


class FirmwareManager(Feature):
    """UpdateFirmware: download into the inactive A/B slot, verify, flip, reboot."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.slots = SlotStore(ctx.settings.state_dir)
        self.sender = StatusSender(
            ctx, lambda status: call.FirmwareStatusNotification(status=status)
        )
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
    ) -> None:
        """UpdateFirmware.req (the .conf is empty): the update runs in the background."""
        current = self.load()
        if current is not None and current["phase"] in ("installing", "activating"):
            log.warning("UpdateFirmware ignored: firmware %s is being installed", current["id"])
            return
        if self.task is not None and not self.task.done():
            log.info("UpdateFirmware replaces the update in progress")
            self.task.cancel()
        record = {
            "id": uuid.uuid4().hex[:12],
            "location": location,
            "retrieve_at": ocpp_timestamp(retrieve_date) or self.ctx.clock.time(),
            "retries": max(0, DEFAULT_RETRIES if retries is None else int(retries)),
            "retry_interval": (
                DEFAULT_RETRY_INTERVAL_S if retry_interval is None else float(retry_interval)
            ),
            "phase": "waiting",
            "attempts": 0,
            "target": None,
            "file": None,
            "version": None,
            "status": None,
        }
        self.save(record)
        log.info("firmware update %s from %s", record["id"], redact_url(location))
        self._start(self._run(record))

    def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.sender.close()

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
        image = check_image(data, trusted_key(self.ctx.settings))
        return self.slots.install(record["target"], image)

    async def _report_installed(self, record: dict[str, Any]) -> None:
        """First boot of the new firmware: Installed, after the boot's StatusNotifications."""
        await self.ctx.accepted.wait()
        log.info("running firmware %s", record.get("version"))
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
