"""OCPP 1.6 request schemas for the operations the Central System can send.

The schemas are the JSON files shipped inside the ``ocpp`` package
(``ocpp/v16/schemas/<Action>.json``); the panel builds its forms from them and
validates a payload against the same file before anything goes on the wire.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from ocpp.charge_point import snake_to_camel_case
from ocpp.v16 import call

from charger.protocol.actions import CSMS_ACTIONS as CORE_AND_OPTIONAL
from charger.protocol.actions import CSMS_SECURITY_ACTIONS

#: Requests a Central System sends to a charge point in OCPP 1.6 (core and the
#: optional profiles) and in the 1.6 security whitepaper.
CSMS_ACTIONS = (*CORE_AND_OPTIONAL, *CSMS_SECURITY_ACTIONS)


class PayloadInvalid(ValueError):
    """The payload does not match the action's schema; ``errors`` says where."""

    def __init__(self, action: str, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{action}: " + "; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.action = action
        self.errors = errors


class UnknownAction(KeyError):
    pass


_formats = FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs a time zone (e.g. Z)")
    return True


def actions() -> list[str]:
    """The CSMS-initiated actions whose schema the installed ocpp package ships."""
    return [a for a in CSMS_ACTIONS if _schema_file(a) is not None and hasattr(call, a)]


def _schema_file(action: str) -> Any:
    path = resources.files("ocpp.v16").joinpath("schemas", f"{action}.json")
    return path if path.is_file() else None


@cache
def _load(action: str, decimal: bool) -> dict[str, Any]:
    if action not in CSMS_ACTIONS:
        raise UnknownAction(action)
    path = _schema_file(action)
    if path is None:
        raise UnknownAction(action)
    text = path.read_text(encoding="utf-8-sig")
    return json.loads(text, parse_float=Decimal) if decimal else json.loads(text)


def schema(action: str) -> dict[str, Any]:
    """The request schema of ``action`` as JSON (what the form is built from)."""
    return _load(action, False)


def _decimals(value: Any) -> Any:
    """Floats as Decimal, so ``multipleOf: 0.1`` holds for 21.4 as it does on the wire."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def validate(action: str, payload: Any) -> None:
    """Raise :class:`PayloadInvalid` unless ``payload`` is a valid ``action`` request."""
    validator = Draft4Validator(_load(action, True), format_checker=_formats)
    errors = sorted(validator.iter_errors(_decimals(payload)), key=lambda e: list(e.path))
    if errors:
        raise PayloadInvalid(
            action,
            [
                {"path": "/".join(str(p) for p in e.path) or "(payload)", "message": e.message}
                for e in errors
            ],
        )


def to_call(action: str, payload: dict[str, Any]) -> Any:
    """The ``ocpp.v16.call`` object for a validated wire payload (camelCase keys).

    Top-level keys become the dataclass's fields; nested objects stay in their wire
    form, which the ocpp package serialises unchanged.
    """
    validate(action, payload)
    cls = getattr(call, action)
    by_wire = {_wire_name(f.name): f.name for f in dataclasses.fields(cls)}
    unknown = [k for k in payload if k not in by_wire]
    if unknown:
        raise PayloadInvalid(
            action, [{"path": k, "message": "not a field of this request"} for k in unknown]
        )
    return cls(**{by_wire[k]: v for k, v in payload.items()})


def _wire_name(field: str) -> str:
    return next(iter(snake_to_camel_case({field: None})))
