"""Credentials out of everything the bench shows or stores.

FTP locations carry the bench FTP server's password (``ftp://user:pw@host/...``) and
ChangeConfiguration AuthorizationKey carries a charge point's Basic-auth password. The
trace the panel serves, the reports, the operations log and the API's answers get
copies with those replaced by ``***``; only the wire sees them. A command line a report
records loses the values of its password options the same way, and a log record of an
HTTP ``Authorization`` header (websockets logs every handshake header at debug level,
``-vv``; Basic auth is the password in base64) its value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
#: ``scheme://user:password@`` -> ``scheme://user:***@`` (any scheme, any place in a string).
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<pw>[^@\s/]*)@")
#: Configuration keys whose value is a secret (whitepaper: AuthorizationKey is write-only).
SECRET_KEYS = frozenset({"AuthorizationKey"})
#: HTTP headers whose value is a credential (lower case).
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})


def redact_text(text: str) -> str:
    """``text`` with the password of every URL in it masked."""
    return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)


def redact(value: Any) -> Any:
    """A copy of a JSON value with URL passwords and secret configuration values masked.

    A ``{"key": "AuthorizationKey", "value": ...}`` object (ChangeConfiguration.req, a
    GetConfiguration configurationKey entry) gets its value masked.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        secret = isinstance(value.get("key"), str) and value["key"] in SECRET_KEYS
        return {
            k: (MASK if secret and k == "value" and v is not None else redact(v))
            for k, v in value.items()
        }
    return value


def redact_frame(entry: dict[str, Any]) -> dict[str, Any]:
    """A trace entry with its payload redacted (other fields as they are)."""
    return {**entry, "payload": redact(entry.get("payload"))}


def redact_argv(argv: list[str], secret_flags: Iterable[str]) -> list[str]:
    """``argv`` with the value of each ``--flag VALUE`` / ``--flag=VALUE`` of ``secret_flags``
    masked (and any URL password in it)."""
    flags = frozenset(secret_flags)
    shown: list[str] = []
    hide_next = False
    for word in argv:
        flag, sep, _ = word.partition("=")
        if hide_next:
            shown.append(MASK)
        elif sep and flag in flags:
            shown.append(f"{flag}={MASK}")
        else:
            shown.append(redact_text(word))
        hide_next = not hide_next and word in flags
    return shown


class CredentialFilter(logging.Filter):
    """Masks a header record's value (websockets: ``"> %s: %s", name, value``) when the
    header is a credential; every record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and args[0].lower() in SECRET_HEADERS
        ):
            record.args = (args[0], MASK)
        return True
