"""A charge point's FTP transfers: fetch a firmware image, upload a log (blocking; run in a
thread). Locations are ``ftp://user:password@host:port/path``; a path ending in ``/`` is a
directory the file goes into under its own name."""

from __future__ import annotations

import ftplib
import io
from urllib.parse import unquote, urlsplit


def _ftp(location: str) -> tuple[ftplib.FTP, str]:
    parts = urlsplit(location)
    client = ftplib.FTP()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 21, timeout=10)
    client.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
    return client, unquote(parts.path) or "/"


def download(location: str) -> bytes:
    client, path = _ftp(location)
    data = io.BytesIO()
    try:
        client.retrbinary(f"RETR {path}", data.write)
    finally:
        client.close()
    return data.getvalue()


def upload(location: str, name: str, data: bytes) -> None:
    client, path = _ftp(location)
    try:
        if path.endswith("/"):
            client.cwd(path)
            target = name
        else:
            target = path
        client.storbinary(f"STOR {target}", io.BytesIO(data))
    finally:
        client.close()
