"""Errors a caller of the OCPP link has to tell apart."""

from __future__ import annotations

from typing import Any


class NotConnected(ConnectionError):
    """The charge point has no open connection (or lost it while a CALL was pending)."""


class CallErrorReceived(Exception):
    """The peer answered a CALL with a CALLERROR; ``code`` is its errorCode verbatim."""

    def __init__(self, action: str, code: str, description: str, details: dict[str, Any]):
        super().__init__(f"{action}: CALLERROR {code}: {description}")
        self.action = action
        self.code = code
        self.description = description
        self.details = details
