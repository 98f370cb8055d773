"""GetLog: the security log or the diagnostics log, uploaded over FTP (lab case 079).

Whitepaper "Improved security for OCPP 1.6-J" ed. 3, use case N01 (Retrieve Log
Information), GetLog / LogStatusNotification:
the answer carries the file name; the upload follows with LogStatusNotification
Uploading, then Uploaded, or UploadFailure (PermissionDenied when the server refuses
the file, BadMessage for a location that is no ftp:// URL), each with the request's
requestId, in order through the pump. A new GetLog while one uploads cancels it
(AcceptedCanceled). SecurityLog: the ``security_log`` table within
[oldestTimestamp, latestTimestamp], one line per event. DiagnosticsLog: the archive
GetDiagnostics uploads (agent log for the window plus a summary, secrets masked).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from ocpp.v16 import call

from charger.agent.feature import Context
from charger.agent.features.diagnostics import (
    StatusSender,
    build_archive,
    config_summary,
    secret_values,
)
from charger.agent.features.security.events import SecurityLog
from charger.agent.ftp import Upload, upload_with_retries

log = logging.getLogger("charger.agent.security")

#: LogStatusNotification's status for each way an upload ends.
FINAL_STATUS = {
    Upload.DONE: "Uploaded",
    Upload.BAD_LOCATION: "BadMessage",
    Upload.REFUSED: "PermissionDenied",
    Upload.FAILED: "UploadFailure",
}


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def security_log_text(security_log: SecurityLog, oldest: str | None, latest: str | None) -> bytes:
    return "".join(e.line() for e in security_log.entries(_when(oldest), _when(latest))).encode()


class LogUploads:
    """GetLog for one charger: at most one upload at a time."""

    def __init__(self, ctx: Context, security_log: SecurityLog) -> None:
        self.ctx = ctx
        self.security_log = security_log
        self.sender = StatusSender(
            ctx, lambda item: call.LogStatusNotification(status=item[0], request_id=item[1])
        )
        self.task: asyncio.Task | None = None
        self.current: tuple[str, int] | None = None  # (last status, requestId) while busy

    def status(self) -> tuple[str, int | None]:
        """LogStatusNotification for ExtendedTriggerMessage: Uploading or Idle."""
        if self.task is not None and not self.task.done() and self.current:
            return self.current
        return "Idle", None

    def file_name(self, log_type: str) -> str:
        cp = re.sub(r"[^A-Za-z0-9._-]", "_", self.ctx.settings.charge_point_id)
        stamp = self.ctx.clock.now().strftime("%Y%m%dT%H%M%SZ")
        kind = "security" if log_type == "SecurityLog" else "diagnostics"
        return f"{kind}-{cp}-{stamp}.{'log' if kind == 'security' else 'zip'}"

    def get_log(
        self,
        log_type: str,
        request_id: int,
        remote_location: str,
        oldest: str | None,
        latest: str | None,
        retries: int | None,
        retry_interval: int | None,
    ) -> tuple[str, str]:
        """(GetLog.conf status, filename); the upload runs in the background."""
        status = "Accepted"
        if self.task is not None and not self.task.done():
            self.task.cancel()
            status = "AcceptedCanceled"
        name = self.file_name(log_type)
        self.current = ("Idle", request_id)
        self.task = asyncio.get_running_loop().create_task(
            self._upload(
                log_type, request_id, name, remote_location, oldest, latest, retries, retry_interval
            )
        )
        return status, name

    def _post(self, status: str, request_id: int) -> None:
        self.current = (status, request_id)
        self.sender.post((status, request_id))

    async def _pack(self, log_type: str, oldest: str | None, latest: str | None) -> bytes:
        """The file: the security log's lines (read here, on the loop that writes them),
        or the diagnostics archive (packed in a thread)."""
        if log_type == "SecurityLog":
            return security_log_text(self.security_log, oldest, latest)
        start, stop = _when(oldest), _when(latest)
        begin, end = (start.timestamp() if start else None), (stop.timestamp() if stop else None)
        summary = config_summary(self.ctx, begin, end)
        state = Path(self.ctx.settings.state_dir)
        secrets = secret_values(self.ctx)
        return await asyncio.to_thread(build_archive, state, summary, secrets, begin, end)

    async def _upload(
        self,
        log_type: str,
        request_id: int,
        name: str,
        location: str,
        oldest: str | None,
        latest: str | None,
        retries: int | None,
        retry_interval: int | None,
    ) -> None:
        try:
            data = await self._pack(log_type, oldest, latest)
        except Exception:  # noqa: BLE001 - the charger goes on; the CSMS hears UploadFailure
            log.exception("packing %s failed", log_type)
            self._post("UploadFailure", request_id)
            return
        self._post("Uploading", request_id)
        outcome = await upload_with_retries(
            self.ctx.clock,
            location,
            name,
            data,
            retries,
            retry_interval,
            what="GetLog upload",
            refusal_ends=True,
        )
        if outcome is Upload.DONE:
            log.info("%s %s uploaded (%d bytes)", log_type, name, len(data))
        self._post(FINAL_STATUS[outcome], request_id)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.sender.close()
