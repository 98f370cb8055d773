"""Hostile OCPP 1.6-J frames built from the schemas, each with the CALLERROR it must get.

A frame starts from a valid payload of an action (every field its schema knows) and
breaks exactly one thing, so the answer is known without asking the validator under
test: a required field missing is ProtocolError, a wrong JSON type or an overlong
string TypeConstraintViolation, a value outside its enum, a number beyond 32 bits or a
date that is no date PropertyConstraintViolation, an unknown field, NaN, a 1,000-deep
nest or a binary WebSocket frame FormationViolation (OCPP-J 1.6, 4.2.3).
"""

from __future__ import annotations

import json
from typing import Any

from ocpp.v16.enums import Action

from charger.protocol.frames import resolved_schema

NOW = "2024-10-24T09:00:00.000Z"

#: Sent by the charge point (the CSMS answers them); every other 1.6 action the other way.
CP_INITIATED = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)
CSMS_INITIATED = (frozenset(a.value for a in Action) - CP_INITIATED) | {"DataTransfer"}

#: kind -> the errorCode OCPP 1.6 prescribes for it
CODES = {
    "missing": "ProtocolError",
    "wrong_type": "TypeConstraintViolation",
    "too_long": "TypeConstraintViolation",
    "bad_enum": "PropertyConstraintViolation",
    "huge_int": "PropertyConstraintViolation",
    "bad_date": "PropertyConstraintViolation",
    "unknown_field": "FormationViolation",
    "nan": "FormationViolation",
    "deep": "FormationViolation",
    "binary": "FormationViolation",
}
HUGE = (10**30, 2**63, -(2**63), 2**31)
Path = tuple[str | int, ...]


def schema(action: str) -> dict[str, Any]:
    return resolved_schema(action)


def _value(spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if "enum" in spec:
        return spec["enum"][0]
    if kind == "object":
        props = spec.get("properties", {})
        return {k: _value(v) for k, v in props.items()}
    if kind == "array":
        return [_value(spec.get("items", {"type": "string"}))]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if spec.get("format") == "date-time":
        return NOW
    return "x"


def base_payload(action: str) -> dict[str, Any]:
    """A payload of ``action`` with every field its schema knows, valid."""
    return _value(schema(action))


def _walk(spec: dict[str, Any], path: Path, value: Any):
    """(path, spec, present) for every property reachable in the base payload."""
    yield path, spec, True
    if spec.get("type") == "object" and isinstance(value, dict):
        for name, sub in spec.get("properties", {}).items():
            yield from _walk(sub, (*path, name), value.get(name))
    elif spec.get("type") == "array" and isinstance(value, list) and value:
        yield from _walk(spec.get("items", {}), (*path, 0), value[0])


def mutations(action: str) -> list[tuple[str, Path]]:
    """Every (kind, path) that breaks exactly one rule of ``action``'s schema."""
    root = schema(action)
    payload = base_payload(action)
    found: list[tuple[str, Path]] = [("nan", ()), ("deep", ()), ("binary", ())]
    for path, spec, _ in _walk(root, (), payload):
        kind = spec.get("type")
        if kind == "object":
            if spec.get("additionalProperties") is False:
                found.append(("unknown_field", path))
            found.extend(("missing", (*path, name)) for name in spec.get("required", []))
        elif "enum" in spec:
            found.append(("bad_enum", path))
        elif spec.get("format") == "date-time":
            found.append(("bad_date", path))
        elif kind == "string":
            found.append(("wrong_type", path))
            if "maxLength" in spec:
                found.append(("too_long", path))
        elif kind == "integer":
            found.extend([("wrong_type", path), ("huge_int", path)])
    return [m for m in found if m[0] != "missing" or _present(payload, m[1][:-1])]


def _present(payload: Any, path: Path) -> bool:
    for part in path:
        try:
            payload = payload[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _set(payload: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    *parents, last = path
    target = payload
    for part in parents:
        target = target[part]
    target[last] = value
    return payload


def hostile(action: str, uid: str, kind: str, path: Path, pick: int = 0) -> tuple[str | bytes, str]:
    """The frame, and the errorCode it must be answered with."""
    payload = base_payload(action)
    spec = {where: sub for where, sub, _ in _walk(schema(action), (), payload)}
    if not path and kind in ("nan", "deep", "binary"):
        body = json.dumps(payload)
        if kind == "nan":
            body = body[:-1] + (", " if payload else "") + '"n": NaN}'
        elif kind == "deep":
            body = body[:-1] + (", " if payload else "") + '"d": ' + "[" * 1200 + "]" * 1200 + "}"
        raw = f'[2, "{uid}", "{action}", {body}]'
        return (raw.encode() if kind == "binary" else raw), CODES[kind]
    if kind == "missing":
        parent = payload
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    elif kind == "unknown_field":
        _set(payload, (*path, "zzUnknownField"), 1)
    elif kind == "bad_enum":
        _set(payload, path, "NoSuchValue")
    elif kind == "bad_date":
        _set(payload, path, ("not-a-date", "2024-13-45T25:61:00Z", "24.10.2024")[pick % 3])
    elif kind == "wrong_type":
        _set(payload, path, 12345 if spec[path].get("type") == "string" else "x")
    elif kind == "too_long":
        _set(payload, path, "x" * (spec[path]["maxLength"] + 1))
    elif kind == "huge_int":
        _set(payload, path, HUGE[pick % len(HUGE)])
    return json.dumps([2, uid, action, payload]), CODES[kind]
