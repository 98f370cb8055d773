"""The bench's FTP server: firmware for chargers to download, an area for their uploads.

pyftpdlib in a thread of its own (its own IOLoop, so several benches can run in one
process). Layout of the root::

    ROOT/firmware/      firmware images (read only over FTP): UpdateFirmware points here
    ROOT/diagnostics/   diagnostics uploads (GetDiagnostics points here; no delete)

Uploads are bounded: one file at most ``max_upload_bytes`` (default 32 MiB) and the
whole upload area at most ``quota_bytes`` (default 256 MiB); a transfer that goes
beyond is cut with ``552`` and its partial file deleted, a STOR into a full area is
refused with ``552`` before any data flows.

One user per rig, generated on first start into a credentials file that lies
*outside* the root (mode 0600). pyftpdlib keeps every path inside the root: ``..``
stops at ``/`` and a symlink leading out is refused (its ``validpath``); the server
also refuses symlinks inside the root outright. Bound to 127.0.0.1 by default; for a
charger on the LAN give ``host="0.0.0.0"`` and ``public_host`` (the address put in
``ftp://`` URLs and in PASV replies).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from bench.security.private import kept_secret

LOG = logging.getLogger(__name__)
logging.getLogger("pyftpdlib").setLevel(logging.WARNING)

FIRMWARE = "firmware"
DIAGNOSTICS = "diagnostics"
#: Read-only everywhere; the diagnostics area also takes uploads (store, append,
#: mkdir, rename) but nothing there can be deleted over FTP.
ROOT_PERM = "elr"
UPLOAD_PERM = "elrawmf"
#: A firmware file name: no directories, no leading dot.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$")


MAX_UPLOAD_BYTES = 32 * 1024 * 1024
QUOTA_BYTES = 256 * 1024 * 1024


class _BoundedDTP(DTPHandler):
    """The data channel: an upload stops with 552 once it passes the command channel's
    ``upload_limit`` (this file's share of the quota)."""

    def handle_read(self) -> None:
        limit = self.cmd_channel.upload_limit
        if self.receive and self.file_obj is not None and limit is not None:
            try:
                written = self.file_obj.tell()
            except (OSError, ValueError):
                written = self.tot_bytes_received
            if written > limit:
                name = self.file_obj.name
                self._resp = (
                    f"552 Upload aborted: more than {limit} bytes (the bench's limit).",
                    LOG.warning,
                )
                self.transfer_finished = False
                with contextlib.suppress(OSError):  # gone before the 552 is sent
                    os.remove(name)
                self.close()
                return
        super().handle_read()

    handle_read_event = handle_read


class _BoundedHandler(FTPHandler):
    """Refuses STOR/APPE into a full upload area; sets each transfer's byte limit."""

    dtp_handler = _BoundedDTP
    max_upload_bytes = MAX_UPLOAD_BYTES
    quota_bytes = QUOTA_BYTES
    upload_root = ""
    upload_limit: int | None = None  # the transfer under way's, set by STOR/APPE

    def _bounded(self, file: str) -> bool:
        used = _usage(Path(self.upload_root)) if self.upload_root else 0
        remaining = self.quota_bytes - used
        if remaining <= 0:
            self.respond("552 Upload area full (the bench's quota); nothing stored.")
            return False
        self.upload_limit = min(self.max_upload_bytes, remaining)
        return True

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        if not self._bounded(file):
            return None
        return super().ftp_STOR(file, mode)

    def ftp_APPE(self, file: str) -> Any:
        if not self._bounded(file):
            return None
        return super().ftp_APPE(file)


def _usage(directory: Path) -> int:
    total = 0
    for path in directory.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


class _JailedFS(AbstractedFS):
    """pyftpdlib's file system view, refusing any symlink (in or out of the root)."""

    def validpath(self, path: str) -> bool:
        if not super().validpath(path):
            return False
        root = os.path.realpath(self.root)
        probe = os.path.abspath(path)
        while probe.startswith(root) and probe != root:
            if os.path.islink(probe):
                return False
            probe = os.path.dirname(probe)
        return True


class FtpServer:
    """FTP for firmware delivery and diagnostics uploads, rooted at ``root``."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        credentials_file: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_host: str | None = None,
        passive_ports: range | None = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        quota_bytes: int = QUOTA_BYTES,
    ) -> None:
        self.root = Path(root).resolve()
        self.credentials_file = (
            Path(credentials_file) if credentials_file else self.root.parent / "ftp.json"
        )
        if self.credentials_file.resolve().is_relative_to(self.root):
            raise ValueError("the FTP credentials file must not lie inside the FTP root")
        self.host = host
        self.public_host = public_host or host
        self.passive_ports = passive_ports
        self.max_upload_bytes = max_upload_bytes
        self.quota_bytes = quota_bytes
        self._port = port
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = threading.Event()
        self.user, self.password = "", ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self.firmware_dir.mkdir(parents=True, exist_ok=True)
        self.diagnostics_dir.mkdir(parents=True, exist_ok=True)
        self.user, self.password = self._credentials()
        authorizer = DummyAuthorizer()
        authorizer.add_user(self.user, self.password, str(self.root), perm=ROOT_PERM)
        authorizer.override_perm(self.user, str(self.diagnostics_dir), UPLOAD_PERM, recursive=True)
        handler = type(
            "BenchFtpHandler",
            (_BoundedHandler,),
            {
                "max_upload_bytes": self.max_upload_bytes,
                "quota_bytes": self.quota_bytes,
                "upload_root": str(self.diagnostics_dir),
                "authorizer": authorizer,
                "abstracted_fs": _JailedFS,
                "banner": "OCPP bench FTP ready.",
                "passive_ports": list(self.passive_ports) if self.passive_ports else None,
                "masquerade_address": self.public_host if self.public_host != self.host else None,
                "timeout": 120,
            },
        )
        self._server = FTPServer((self.host, self._port), handler, ioloop=IOLoop())
        self._port = self._server.address[1]
        self._serving.set()
        self._thread = threading.Thread(target=self._loop, name="bench-ftp", daemon=True)
        self._thread.start()
        LOG.info("FTP server on %s:%s, root %s", self.host, self._port, self.root)

    def _loop(self) -> None:
        assert self._server is not None
        try:
            while self._serving.is_set():
                self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        finally:
            self._server.close_all()

    def stop(self) -> None:
        self._serving.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._server = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> FtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    def _credentials(self) -> tuple[str, str]:
        """This rig's FTP user and password, generated on first use (file mode 0600)."""

        def made() -> str:
            user = f"bench-{secrets.token_hex(3)}"
            return json.dumps({"user": user, "password": secrets.token_urlsafe(18)})

        data = json.loads(kept_secret(self.credentials_file, made))
        return data["user"], data["password"]

    # -- the two areas ------------------------------------------------------------------------

    @property
    def firmware_dir(self) -> Path:
        return self.root / FIRMWARE

    @property
    def diagnostics_dir(self) -> Path:
        return self.root / DIAGNOSTICS

    def url(self, path: str = "/", *, credentials: bool = True) -> str:
        """``ftp://user:password@host:port/path`` (the form a charger is given)."""
        if not self.user:
            self.user, self.password = self._credentials()
        auth = (
            f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@" if credentials else ""
        )
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"ftp://{auth}{host}:{self._port}/{path.lstrip('/')}"

    def firmware_location(self, name: str) -> str:
        """The URL of a firmware file in the store; ValueError if it is not there."""
        path = self.firmware_path(name)
        if not path.is_file():
            known = ", ".join(f["name"] for f in self.firmware_files()) or "none"
            raise ValueError(f"no firmware file {name!r} in the store (have: {known})")
        return self.url(f"{FIRMWARE}/{quote(name)}")

    def diagnostics_location(self) -> str:
        """The directory URL a charger uploads its diagnostics file to."""
        return self.url(f"{DIAGNOSTICS}/")

    def firmware_path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a firmware file name: {name!r} (no directories, no dot first)")
        return self.firmware_dir / name

    def add_firmware(self, name: str, data: bytes | str | os.PathLike[str]) -> dict[str, Any]:
        """Put a firmware image into the store (bytes, or a file to copy)."""
        target = self.firmware_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{name}.part")
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            shutil.copyfile(data, tmp)
        tmp.replace(target)
        return _describe(target)

    def firmware_files(self) -> list[dict[str, Any]]:
        return _listing(self.firmware_dir)

    def diagnostics_files(self) -> list[dict[str, Any]]:
        return _listing(self.diagnostics_dir)

    def info(self) -> dict[str, Any]:
        """What the API shows: where it listens (no password)."""
        return {
            "running": self.running,
            "host": self.host,
            "public_host": self.public_host,
            "port": self._port,
            "user": self.user,
            "root": str(self.root),
            "firmware": self.url(f"{FIRMWARE}/", credentials=False),
            "diagnostics": self.url(f"{DIAGNOSTICS}/", credentials=False),
        }


def _listing(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        return []
    return [
        _describe(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    ]


def _describe(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with contextlib.suppress(OSError), path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    stat = path.stat()
    return {
        "name": path.name,
        "size": stat.st_size,
        "sha256": digest.hexdigest(),
        "modified": stat.st_mtime,
    }
