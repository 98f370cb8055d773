"""OCPP-J 1.6 frames: strict parsing and the CALLERROR code for each defect.

The ``ocpp`` package logs and drops frames it cannot unpack, and names errors after
OCPP 2.0.1. A test bench has to answer like the 1.6 spec (OCPP-J 1.6, 4.2.3), so:

=====================================================  ================================
defect                                                 CALLERROR errorCode
=====================================================  ================================
not UTF-8 / not JSON                                   FormationViolation
not a non-empty array, MessageTypeId not an integer    ProtocolError
unknown MessageTypeId                                  ProtocolError
CALL with != 4 elements, UniqueId/Action not strings   ProtocolError
CALL payload not a JSON object                         FormationViolation
Action not defined by OCPP 1.6                         NotImplemented  ("not known")
1.6 Action without a handler here                      NotSupported    ("recognized")
schema: missing required field                         ProtocolError   ("incomplete")
schema: wrong JSON type, string too long               TypeConstraintViolation
schema: value outside enum/range/pattern               PropertyConstraintViolation
schema: too few/many array items                       OccurenceConstraintViolation
schema: unknown field, anything else                   FormationViolation
=====================================================  ================================

The UniqueId of the reply is the frame's own when it can be read, else ``"-1"`` (the
convention OCPP 2.0.1 made explicit). Malformed CALLRESULT/CALLERROR frames are never
answered: an error reply to a reply could ping-pong between two peers.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
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


def parse_frame(raw: str | bytes) -> Call | CallResult | CallError:
    """Parse one WebSocket message or raise :class:`MalformedFrame`."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        if isinstance(raw, bytes):
            raw.decode("utf-8")
        msg = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        head = _HEAD.match(text)
        mtype = int(head.group(1)) if head else 0
        uid = head.group(2) if head and head.group(2) else UNKNOWN_ID
        raise MalformedFrame(
            FormationViolationError(details={"cause": "Frame is not valid JSON"}), uid, mtype, text
        ) from None

    def bad(error_cls: type[OCPPError], cause: str, uid: str, mtype: int) -> MalformedFrame:
        return MalformedFrame(error_cls(details={"cause": cause}), uid, mtype, text)

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


def schema_violation(action: str, payload: dict[str, Any]) -> OCPPError | None:
    """The 1.6 error for the first schema defect of a CALL payload, or None if valid."""
    if action in _DECIMAL_ACTIONS:
        validator = get_validator(CALL, action, "1.6", parse_float=Decimal)
        payload = json.loads(json.dumps(payload), parse_float=Decimal)
    else:
        validator = get_validator(CALL, action, "1.6")
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return None
    error_cls = _SCHEMA_ERRORS.get(str(error.validator), FormationViolationError)
    where = "/".join(str(p) for p in error.absolute_path)
    return error_cls(details={"cause": error.message, "path": where})
