"""GetDiagnostics: the agent's log for a time window plus a configuration summary, over FTP.

The archive (``diagnostics-CPID-YYYYMMDDTHHMMSSZ.zip``) holds

* ``agent.log``: the lines of ``STATE/agent/agent.log`` (and rotated ``agent.log.N``)
  whose timestamp lies in [startTime, stopTime]; a line without a timestamp (a
  traceback) goes with the line before it. Secrets are masked: the AuthorizationKey
  and the provisioning password wherever they appear, credentials in URLs, Basic
  authorization headers.
* ``summary.json``: identity, running firmware and slot, the window, and every
  configuration key except the secret ones (AuthorizationKey) and internal ones.

The file name is the GetDiagnostics.conf answer; the upload runs afterwards with
retries, reported by DiagnosticsStatusNotification Uploading, then Uploaded or
UploadFailed, in order through the charger's pump (:class:`StatusSender`).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocpp.exceptions import OCPPError, PropertyConstraintViolationError
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from charger.agent.feature import Context, Feature
from charger.agent.ftp import Upload, redact_url, upload_with_retries
from charger.agent.slots import SlotStore
from charger.clock import Clock, iso
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.times import parse_ocpp_time

log = logging.getLogger("charger.agent.features.diagnostics")

LOG_FILE = "agent.log"
SECRET_KEYS = frozenset({"AuthorizationKey"})
SECRET_WORDS = ("password", "secret", "authorizationkey", "privatekey")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,6}))?\s?(Z|[+-]\d{2}:?\d{2})?"
)
_BASIC_AUTH = re.compile(r"(Basic\s+)[A-Za-z0-9+/=]{8,}")


def checked_times(**fields: str | None) -> None:
    """A date-time field that is not one is a PropertyConstraintViolation, as the link's
    frame checks answer it (``charger/protocol/frames.py``)."""
    for name, value in fields.items():
        try:
            parse_ocpp_time(value)
        except (TypeError, ValueError):
            raise PropertyConstraintViolationError(
                description=f"{name} {value!r} is not a date-time"
            ) from None


# --- status notifications, in order ------------------------------------------------


class StatusSender:
    """Status notifications of one kind, each delivered in order through the pump.

    ``post`` never blocks; a worker sends one at a time with ``charger.request``
    (after the charger's BootNotification was accepted, so a status queued at boot
    follows the boot's StatusNotifications) and sends it again after a lost
    connection. A CALLERROR from the CSMS is not retried.
    """

    def __init__(self, charger: Context, make: Callable[[str], Any], attempts: int = 5) -> None:
        self.charger = charger
        self.make = make
        self.attempts = attempts
        self.queue: list[Any] = []  # a status, or what ``make`` builds one from
        self.delivered: list[Any] = []
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def post(self, status: Any) -> None:
        if self._task is None or self._task.done():
            self._wake, self._idle = asyncio.Event(), asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._worker())
        assert self._wake is not None and self._idle is not None
        self.queue.append(status)
        self._idle.clear()
        self._wake.set()

    async def drained(self, timeout_s: float) -> bool:
        """Wait (simulated seconds) until every posted status was sent or given up."""
        if self._idle is None or not self.queue and self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), self.charger.clock.wall(timeout_s))
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _worker(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            if not self.queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            status = self.queue[0]
            await self._deliver(status)
            self.queue.pop(0)

    async def _deliver(self, status: str) -> None:
        payload = self.make(status)
        name = type(payload).__name__
        for attempt in range(1, self.attempts + 1):
            await self.charger.accepted.wait()
            try:
                await self.charger.request(payload)
                self.delivered.append(status)
                return
            except (CallErrorReceived, OCPPError) as exc:
                log.warning("%s %s refused by the CSMS: %s", name, status, exc)
                return
            except (ConnectionError, NotConnected, TimeoutError) as exc:
                log.warning("%s %s attempt %d: %s", name, status, attempt, exc)
                await self.charger.clock.sleep(1.0)
        log.error("%s %s not delivered after %d attempts", name, status, self.attempts)


# --- the archive ----------------------------------------------------------------------


def log_formatter(clock: Clock) -> logging.Formatter:
    """Log lines stamped with the simulated clock, UTC (what GetDiagnostics windows use).

    For ``charger/agent/__main__.py``: ``handler.setFormatter(log_formatter(clock))``.
    """

    class _ClockFormatter(logging.Formatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            sim = clock.origin_sim + (record.created - clock.origin_wall) * clock.speed
            return iso(datetime.fromtimestamp(sim, UTC))

    return _ClockFormatter(LOG_FORMAT)


def line_time(line: str) -> float | None:
    """The Unix time a log line starts with (ISO 8601 or logging's asctime), else None.

    A time without a zone is local time (logging's default asctime).
    """
    match = _TIMESTAMP.match(line)
    if not match:
        return None
    day, clock_time, fraction, zone = match.groups()
    text = f"{day}T{clock_time}.{(fraction or '0').ljust(6, '0')}"
    if zone:
        text += "+00:00" if zone == "Z" else zone
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as logging writes it
    return moment.timestamp()


def ocpp_timestamp(value: str | None) -> float | None:
    """Unix seconds of an OCPP date-time (None: no bound)."""
    moment = parse_ocpp_time(value or None)
    return moment.timestamp() if moment else None


def lines_in_window(lines: Iterable[str], start: float | None, stop: float | None) -> list[str]:
    """Lines stamped within [start, stop]; an unstamped line follows the one before."""
    kept: list[str] = []
    keep = start is None
    for line in lines:
        moment = line_time(line)
        if moment is not None:
            keep = (start is None or moment >= start) and (stop is None or moment <= stop)
        if keep:
            kept.append(line)
    return kept


def log_files(state_dir: Path) -> list[Path]:
    """agent.log and its rotations, oldest first."""
    rotated = sorted(
        (p for p in state_dir.glob(LOG_FILE + ".*") if p.suffix[1:].isdigit()),
        key=lambda p: -int(p.suffix[1:]),
    )
    current = state_dir / LOG_FILE
    return rotated + ([current] if current.exists() else [])


def secret_values(charger: Context) -> list[str]:
    values = [charger.config.values.get(key) for key in SECRET_KEYS if key in charger.config.values]
    values.append(getattr(charger.settings, "initial_password", None))
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(line: str, secrets: list[str]) -> str:
    for secret in secrets:
        line = line.replace(secret, "***")
    line = redact_url(line)
    return _BASIC_AUTH.sub(r"\1***", line)


def is_secret_key(key: str) -> bool:
    return key in SECRET_KEYS or any(word in key.lower() for word in SECRET_WORDS)


def config_summary(charger: Context, start: float | None, stop: float | None) -> dict[str, Any]:
    """What the archive says of the charger: no secret, no internal key."""
    settings = charger.settings
    slots = SlotStore(settings.state_dir)
    pointer = slots.pointer()

    def when(moment: float | None) -> str | None:
        return iso(datetime.fromtimestamp(moment, UTC)) if moment is not None else None

    return {
        "chargePointId": settings.charge_point_id,
        "vendor": getattr(settings, "vendor", None),
        "model": getattr(settings, "model", None),
        "serialNumber": getattr(settings, "serial_number", None),
        "firmwareVersion": slots.active_version(settings.firmware_version),
        "slot": {"active": pointer.slot, "previous": pointer.previous, "trial": pointer.trial},
        "generated": iso(charger.clock.now()),
        "window": {"startTime": when(start), "stopTime": when(stop)},
        "configuration": {
            key: value
            for key, value in sorted(charger.config.values.items())
            if not key.startswith("_") and not is_secret_key(key)
        },
    }


def build_archive(
    state_dir: Path,
    summary: dict[str, Any],
    secrets: list[str],
    start: float | None,
    stop: float | None,
) -> bytes:
    lines: list[str] = []
    for path in log_files(state_dir):
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines += lines_in_window(handle, start, stop)
    text = "".join(redact(line, secrets) for line in lines)
    summary = dict(summary, logLines=len(lines))
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(LOG_FILE, text)
        archive.writestr("summary.json", json.dumps(summary, indent=2) + "\n")
    return raw.getvalue()


# --- GetDiagnostics ------------------------------------------------------------------


class Diagnostics(Feature):
    """GetDiagnostics: the log window and a summary, zipped, uploaded over FTP."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.sender = StatusSender(
            ctx, lambda status: call.DiagnosticsStatusNotification(status=status)
        )
        self.uploads: set[asyncio.Task] = set()

    def triggered(self, requested: str, connector_id: int | None) -> list[Any] | None:
        if requested != "DiagnosticsStatusNotification":
            return None
        return [call.DiagnosticsStatusNotification(status=self.status())]

    def close(self) -> None:
        self.sender.close()

    @on(Action.get_diagnostics)
    def on_get_diagnostics(
        self,
        location: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: str | None = None,
        stop_time: str | None = None,
        **_: Any,
    ):
        checked_times(startTime=start_time, stopTime=stop_time)
        name = self.get_diagnostics(location, retries, retry_interval, start_time, stop_time)
        return call_result.GetDiagnostics(file_name=name)

    def status(self) -> str:
        """DiagnosticsStatusNotification for TriggerMessage: Uploading or Idle."""
        return "Uploading" if any(not t.done() for t in self.uploads) else "Idle"

    def file_name(self) -> str:
        cp = re.sub(r"[^A-Za-z0-9._-]", "_", self.ctx.settings.charge_point_id)
        return f"diagnostics-{cp}-{self.ctx.clock.now().strftime('%Y%m%dT%H%M%SZ')}.zip"

    def get_diagnostics(
        self,
        location: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        start_time: str | None = None,
        stop_time: str | None = None,
    ) -> str:
        """Answer with the file name at once; pack and upload in the background."""
        name = self.file_name()
        start, stop = ocpp_timestamp(start_time), ocpp_timestamp(stop_time)
        task = asyncio.get_running_loop().create_task(
            self._upload(name, location, retries, retry_interval, start, stop)
        )
        self.uploads.add(task)
        task.add_done_callback(self.uploads.discard)
        return name

    async def _upload(
        self,
        name: str,
        location: str,
        retries: int | None,
        retry_interval: float | None,
        start: float | None,
        stop: float | None,
    ) -> None:
        try:
            summary = config_summary(self.ctx, start, stop)
            data = await asyncio.to_thread(
                build_archive,
                Path(self.ctx.settings.state_dir),
                summary,
                secret_values(self.ctx),
                start,
                stop,
            )
        except Exception:  # noqa: BLE001 - the charger goes on; the CSMS hears UploadFailed
            log.exception("packing diagnostics failed")
            self.sender.post("UploadFailed")
            return
        self.sender.post("Uploading")
        outcome = await upload_with_retries(
            self.ctx.clock, location, name, data, retries, retry_interval, what="diagnostics upload"
        )
        if outcome is Upload.DONE:
            log.info("diagnostics %s uploaded (%d bytes)", name, len(data))
            self.sender.post("Uploaded")
        else:
            self.sender.post("UploadFailed")
