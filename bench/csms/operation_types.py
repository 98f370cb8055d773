"""The operation table's types, shared by :mod:`bench.csms.operations` and its parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Payload = dict[str, Any]


class OperationError(ValueError):
    """A request that cannot be sent as given (HTTP 400); the message says why."""


class UnknownOperation(OperationError):
    """Not a request a 1.6 Central System sends (HTTP 404)."""


@dataclass(frozen=True)
class Operation:
    """One CSMS-initiated action: its wire name, Python method and what the CSMS adds.

    ``fills``: fields the OCPP schema requires that the Central System fills in when
    the caller leaves them out. ``extras``: request fields beyond OCPP (JSON schema),
    consumed by the Central System and never sent.
    """

    action: str
    method: str
    summary: str
    profile: str
    fills: tuple[str, ...] = ()
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
