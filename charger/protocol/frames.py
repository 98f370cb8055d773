"""OCPP-J 1.6 frames: strict parsing and the CALLERROR code for each defect.

The ``ocpp`` package logs and drops frames it cannot unpack, and names errors after
OCPP 2.0.1. A test bench has to answer like the 1.6 spec (OCPP-J 1.6, 4.2.3), so:

=====================================================  ================================
defect                                                 CALLERROR errorCode
=====================================================  ================================
not UTF-8 / not JSON, a binary WebSocket frame         FormationViolation
NaN/Infinity, a number too large for a double          FormationViolation
nested deeper than MAX_DEPTH                           FormationViolation
not a non-empty array, MessageTypeId not an integer    ProtocolError
unknown MessageTypeId                                  ProtocolError
CALL with != 4 elements, UniqueId/Action not strings   ProtocolError
CALL payload not a JSON object                         FormationViolation
Action not defined by OCPP 1.6                         NotImplemented  ("not known")
1.6 Action without a handler here                      NotSupported    ("recognized")
schema: missing required field                         ProtocolError   ("incomplete")
schema: wrong JSON type, string too long               TypeConstraintViolation
schema: value outside enum/range/pattern               PropertyConstraintViolation
date-time not RFC 3339; a number beyond +-2^31-1       PropertyConstraintViolation
schema: too few/many array items                       OccurenceConstraintViolation
schema: unknown field, anything else                   FormationViolation
=====================================================  ================================

The UniqueId of the reply is the frame's own when it can be read, else ``"-1"`` (the
convention OCPP 2.0.1 made explicit). Malformed CALLRESULT/CALLERROR frames are never
answered: an error reply to a reply could ping-pong between two peers.

Hostile input must not reach what cannot take it: the JSON decoder and the schema
validator recurse (RecursionError past ~1,000 levels), SQLite holds 64-bit integers
only and the ``ocpp`` package's Decimal ``multipleOf`` check raises on 1e308. No
OCPP 1.6 message nests deeper than 6 levels or needs a number beyond 32 bits (OCPP
2.0.1 made "integer" 32-bit explicit), so CALL payloads are held to that.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal, DecimalException
from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from ocpp.exceptions import (
    FormationViolationError,
    OccurenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator

CALL = MessageType.Call
CALLRESULT = MessageType.CallResult
CALLERROR = MessageType.CallError
UNKNOWN_ID = "-1"
MAX_UNIQUE_ID = 36
MAX_DEPTH = 16  # arrays and objects in one frame; OCPP 1.6 needs 7 at most
MAX_NUMBER = 2**31 - 1  # no 1.6 field holds more (connectorId, transactionId, limit ...)

# The ocpp package's codes that OCPP 1.6 spells differently (errata: kept as printed).
_CODES_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}

_SCHEMA_ERRORS: dict[str, type[OCPPError]] = {
    "required": ProtocolError,
    "type": TypeConstraintViolationError,
    "maxLength": TypeConstraintViolationError,
    "minLength": TypeConstraintViolationError,
    "enum": PropertyConstraintViolationError,
    "pattern": PropertyConstraintViolationError,
    "format": PropertyConstraintViolationError,
    "minimum": PropertyConstraintViolationError,
    "maximum": PropertyConstraintViolationError,
    "multipleOf": PropertyConstraintViolationError,
    "minItems": OccurenceConstraintViolationError,
    "maxItems": OccurenceConstraintViolationError,
    "uniqueItems": OccurenceConstraintViolationError,
}

# The ocpp package validates these with Decimal floats (multipleOf 0.1); its validator
# cache ignores parse_float, so use the same kind here or poison that cache.
_DECIMAL_ACTIONS = {"SetChargingProfile", "RemoteStartTransaction"}

# Enough of a broken frame to answer it: '[<type>,"<id>"' at the start.
_HEAD = re.compile(r'\s*\[\s*(\d+)\s*(?:,\s*"([^"\\]{1,36})")?')


class MalformedFrame(Exception):
    """A frame that is not a valid OCPP-J message; ``error`` is what to answer."""

    def __init__(self, error: OCPPError, unique_id: str, message_type: int, text: str):
        super().__init__(f"{code_16(error.code)}: {error.details.get('cause', '')}")
        self.error = error
        self.unique_id = unique_id
        self.message_type = message_type  # 0 when not even that could be read
        self.text = text

    @property
    def reply(self) -> bool:
        """Only CALLs (or frames that may be CALLs) get a CALLERROR back."""
        return self.message_type not in (CALLRESULT, CALLERROR)


def code_16(code: str) -> str:
    """The OCPP 1.6 name of an ``ocpp`` package error code (the link sends only these)."""
    return _CODES_16.get(code, code)


class _NotJson(ValueError):
    """A literal JSON (RFC 8259) does not allow, or a number no double holds."""


def _no_constant(name: str) -> float:
    raise _NotJson(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"number {text[:40]} does not fit a double")
    return value


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite)


def _unreadable(text: str, cause: str) -> MalformedFrame:
    head = _HEAD.match(text)
    mtype = int(head.group(1)) if head else 0
    uid = head.group(2) if head and head.group(2) else UNKNOWN_ID
    return MalformedFrame(FormationViolationError(details={"cause": cause}), uid, mtype, text)


def _shape_defect(value: Any) -> tuple[type[OCPPError], str] | None:
    """Too deep, or a number out of range: the first such defect (iterative, no recursion)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return FormationViolationError, f"nested deeper than {MAX_DEPTH} levels"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((v, depth + 1, f"{path}/{k}") for k, v in pairs)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            if abs(item) > MAX_NUMBER:
                return PropertyConstraintViolationError, (
                    f"{path.lstrip('/') or 'value'}: {item:.6g} is beyond +-{MAX_NUMBER}"
                )
    return None


def parse_frame(raw: str | bytes) -> Call | CallResult | CallError:
    """Parse one WebSocket message or raise :class:`MalformedFrame`."""
    if isinstance(raw, bytes):  # OCPP-J 1.6 (3.1): messages are text frames
        text = raw.decode("utf-8", "replace")
        raise _unreadable(text, "binary WebSocket frame: OCPP-J messages are text frames")
    text = raw
    try:
        msg = _loads(text)
    except json.JSONDecodeError:
        raise _unreadable(text, "Frame is not valid JSON") from None
    except _NotJson as exc:
        raise _unreadable(text, f"Frame is not valid JSON: {exc}") from None
    except RecursionError:
        raise _unreadable(text, f"Frame nests deeper than {MAX_DEPTH} levels") from None

    def bad(error_cls: type[OCPPError], cause: str, uid: str, mtype: int) -> MalformedFrame:
        return MalformedFrame(error_cls(details={"cause": cause}), uid, mtype, text)

    defect = _shape_defect(msg)
    if defect and defect[0] is FormationViolationError:
        head = _HEAD.match(text)
        mtype = int(head.group(1)) if head else 0
        uid = head.group(2) if head and head.group(2) else UNKNOWN_ID
        raise bad(defect[0], defect[1], uid, mtype)

    if not isinstance(msg, list) or not msg:
        raise bad(ProtocolError, "Frame is not a non-empty JSON array", UNKNOWN_ID, 0)
    mtype = msg[0] if type(msg[0]) is int else 0
    uid = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else UNKNOWN_ID
    if mtype == 0:
        raise bad(ProtocolError, "MessageTypeId is not an integer", uid, 0)
    if mtype not in (CALL, CALLRESULT, CALLERROR):
        raise bad(ProtocolError, f"Unknown MessageTypeId {mtype}", uid, mtype)
    if len(msg) < 2 or not isinstance(msg[1], str):
        raise bad(ProtocolError, "UniqueId is missing or not a string", UNKNOWN_ID, mtype)
    if len(uid) > MAX_UNIQUE_ID:
        raise bad(ProtocolError, f"UniqueId longer than {MAX_UNIQUE_ID}", uid, mtype)

    if mtype == CALL:
        if len(msg) != 4:
            raise bad(ProtocolError, f"CALL has {len(msg)} elements, not 4", uid, mtype)
        if not isinstance(msg[2], str):
            raise bad(ProtocolError, "Action is not a string", uid, mtype)
        if not isinstance(msg[3], dict):
            raise bad(FormationViolationError, "Payload is not a JSON object", uid, mtype)
        defect = defect and _shape_defect(msg[3])  # the path within the payload
        if defect:
            raise bad(defect[0], defect[1], uid, mtype)
        return Call(uid, msg[2], msg[3])
    if mtype == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict):
            raise bad(ProtocolError, "CALLRESULT is not [3, id, {payload}]", uid, mtype)
        return CallResult(uid, msg[2])
    if (
        len(msg) != 5
        or not isinstance(msg[2], str)
        or not isinstance(msg[3], str)
        or not isinstance(msg[4], dict)
    ):
        raise bad(ProtocolError, "CALLERROR is not [4, id, code, text, {details}]", uid, mtype)
    return CallError(uid, msg[2], msg[3], msg[4])


def _validator(action: str) -> Any:
    if action in _DECIMAL_ACTIONS:
        return get_validator(CALL, action, "1.6", parse_float=Decimal)
    return get_validator(CALL, action, "1.6")


def schema_violation(action: str, payload: dict[str, Any]) -> OCPPError | None:
    """The 1.6 error for the first schema defect of a CALL payload, or None if valid."""
    validator = _validator(action)
    if action in _DECIMAL_ACTIONS:
        payload = json.loads(json.dumps(payload), parse_float=Decimal)
    try:
        error = best_match(validator.iter_errors(payload))
    except (DecimalException, ArithmeticError, ValueError) as exc:
        return PropertyConstraintViolationError(details={"cause": f"unusable number: {exc!r}"})
    if error is None:
        return format_violation(action, payload)
    error_cls = _SCHEMA_ERRORS.get(str(error.validator), FormationViolationError)
    where = "/".join(str(p) for p in error.absolute_path)
    return error_cls(details={"cause": error.message, "path": where})


def _date_time(value: object) -> bool:
    """RFC 3339 date-time as OCPP uses it (``2024-10-24T09:00:00.000Z``, an offset allowed)."""
    if not isinstance(value, str):
        return True  # the type keyword reports that
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@cache
def _date_time_paths(action: str) -> tuple[tuple[str, ...], ...]:
    """Where the CALL schema of ``action`` has ``format: date-time`` ("*": any array item)."""
    found: list[tuple[str, ...]] = []

    def walk(schema: dict[str, Any], path: tuple[str, ...]) -> None:
        if schema.get("format") == "date-time":
            found.append(path)
        for name, sub in (schema.get("properties") or {}).items():
            walk(sub, (*path, name))
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], (*path, "*"))

    walk(resolved_schema(action), ())
    return tuple(found)


@cache
def resolved_schema(action: str) -> dict[str, Any]:
    """The CALL schema of ``action`` with its ``#/definitions/...`` references inlined."""
    root = _validator(action).schema
    definitions = root.get("definitions", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/definitions/"):
                return inline(definitions[ref.rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items() if k != "definitions"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(root)


def _values_at(payload: Any, path: tuple[str, ...]) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("", payload)]
    for part in path:
        nxt: list[tuple[str, Any]] = []
        for where, item in items:
            if part == "*" and isinstance(item, list):
                nxt.extend((f"{where}/{i}", v) for i, v in enumerate(item))
            elif isinstance(item, dict) and part in item:
                nxt.append((f"{where}/{part}", item[part]))
        items = nxt
    return items


def format_violation(action: str, payload: dict[str, Any]) -> OCPPError | None:
    """The ``ocpp`` package does not check ``format: date-time``: the first bad one, if any."""
    try:
        paths = _date_time_paths(action)
    except Exception:  # noqa: BLE001 - no schema for this action: nothing to check
        return None
    for path in paths:
        for where, value in _values_at(payload, path):
            if not _date_time(value):
                return PropertyConstraintViolationError(
                    details={"cause": f"{value!r} is not an RFC 3339 date-time", "path": where[1:]}
                )
    return None
