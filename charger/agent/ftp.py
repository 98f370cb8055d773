"""The agent's FTP client: the ``ftp://`` locations a CSMS gives, and transfers with retries.

GetDiagnostics and GetLog upload a file, UpdateFirmware downloads one; the CSMS gives the
location (``ftp://[user[:password]@]host[:port]/path``), how often to retry and how long to
wait in between. One upload loop serves both uploads: the features only map its outcome to
their status notification.
"""

from __future__ import annotations

import asyncio
import enum
import ftplib
import io
import logging
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from charger.clock import Clock

log = logging.getLogger("charger.agent.ftp")

DEFAULT_RETRIES = 2
DEFAULT_RETRY_INTERVAL_S = 10.0
FTP_TIMEOUT_S = 30.0  # wall seconds per FTP operation
#: Replies that refuse the file for good: not logged in, need an account, file
#: unavailable, file name not allowed.
PERMISSION_CODES = ("530", "532", "550", "553")

_URL_CREDENTIALS = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s@/]*@")


def redact_url(location: str) -> str:
    """``location`` with its password masked (for logs)."""
    return _URL_CREDENTIALS.sub(r"\1***@", location)


def retry_plan(retries: int | None, retry_interval: float | None) -> tuple[int, float]:
    """(attempts, seconds between two) for a request's ``retries`` and ``retryInterval``;
    either absent: the charger's default."""
    attempts = 1 + max(0, DEFAULT_RETRIES if retries is None else int(retries))
    interval = DEFAULT_RETRY_INTERVAL_S if retry_interval is None else float(retry_interval)
    return attempts, interval


def ftp_connect(location: str, timeout_s: float = FTP_TIMEOUT_S) -> tuple[ftplib.FTP, str]:
    """A logged-in FTP client for an ``ftp://[user[:password]@]host[:port]/path`` URL."""
    parts = urlsplit(location)
    if parts.scheme.lower() != "ftp" or not parts.hostname:
        raise ValueError(f"unsupported location {redact_url(location)!r}: only ftp:// URLs")
    client = ftplib.FTP(timeout=timeout_s)
    try:
        client.connect(parts.hostname, parts.port or 21)
        client.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client, unquote(parts.path)


def ftp_upload(location: str, name: str, data: bytes) -> None:
    """STOR ``name`` into the directory ``location`` points at."""
    client, directory = ftp_connect(location)
    try:
        if directory not in ("", "/"):
            client.cwd(directory)
        client.storbinary(f"STOR {name}", io.BytesIO(data))
        client.quit()
    finally:
        client.close()


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


class Upload(enum.Enum):
    """How :func:`upload_with_retries` ended."""

    DONE = "done"
    BAD_LOCATION = "bad location"  # no ftp:// URL: not retried
    REFUSED = "refused"  # a permission reply (PERMISSION_CODES), when that ends it
    FAILED = "failed"  # every attempt failed


async def upload_with_retries(
    clock: Clock,
    location: str,
    name: str,
    data: bytes,
    retries: int | None,
    retry_interval: float | None,
    *,
    what: str,
    refusal_ends: bool = False,
) -> Upload:
    """Upload ``data`` as ``name`` to ``location``, retrying as the request asked.

    Each attempt runs in a thread; between two the charger sleeps ``retry_interval``
    simulated seconds. ``refusal_ends``: a permission reply (``PERMISSION_CODES``) ends
    the upload as :attr:`Upload.REFUSED` instead of being retried. ``what`` names the
    upload in the log.
    """
    attempts, interval = retry_plan(retries, retry_interval)
    for attempt in range(1, attempts + 1):
        try:
            await asyncio.to_thread(ftp_upload, location, name, data)
        except ValueError as exc:
            log.error("%s: %s", what, exc)
            return Upload.BAD_LOCATION
        except (OSError, EOFError, ftplib.Error) as exc:
            refused = isinstance(exc, ftplib.error_perm) and str(exc)[:3] in PERMISSION_CODES
            if refusal_ends and refused:
                log.warning("%s to %s refused: %s", what, redact_url(location), exc)
                return Upload.REFUSED
            log.warning(
                "%s to %s, attempt %d/%d: %s", what, redact_url(location), attempt, attempts, exc
            )
        else:
            return Upload.DONE
        if attempt < attempts:
            await clock.sleep(interval)
    return Upload.FAILED
