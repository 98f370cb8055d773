"""The HTTP API's route table type and its OpenAPI 3.1 document, built from that table.

``bench.csms.http_api`` declares every route once as a :class:`Route`; the Flask rules and
this document both come from that list, so they cannot drift apart (a test checks
it). Request and response bodies of the operations are the OCPP 1.6 JSON schemas of
the ``ocpp`` package, with the fields the Central System fills itself made optional
and its extension fields (``firmware``, ``expiresIn``) added.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.csms.operations import Operation

Schema = dict[str, Any]
VERSION = "0.1.0"

ERROR_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "error": {
            "type": "string",
            "description": "not_connected, unknown_charge_point, bad_request, call_error, "
            "timeout, not_found",
        },
        "message": {"type": "string"},
        "code": {"type": "string", "description": "the CALLERROR errorCode (call_error)"},
    },
    "required": ["error", "message"],
}

#: HTTP status -> (description, body schema) every operation route may answer.
OPERATION_ERRORS = {
    "400": "the request cannot be sent as given (schema, unknown field, missing firmware)",
    "404": "unknown charge point or operation",
    "409": "the charge point is not connected",
    "502": "the charge point answered with a CALLERROR",
    "504": "the charge point did not answer within the response timeout",
}


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str = ""
    where: str = "query"  # query | path
    required: bool = False


@dataclass(frozen=True)
class Route:
    """One HTTP route: the single source of the Flask rule and of its OpenAPI entry."""

    method: str  # GET | POST
    path: str  # OpenAPI template: /api/charge-points/{cp_id}
    operation_id: str
    summary: str
    view: Callable[..., Any]
    tag: str = "bench"
    params: tuple[Param, ...] = ()
    request_body: Schema | None = None
    response: Schema = field(default_factory=lambda: {"type": "object"})
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def flask_rule(self) -> str:
        return re.sub(r"\{(\w+)\}", r"<\1>", self.path)

    def path_params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)


@cache
def _ocpp_schema_text(name: str) -> str:
    return resources.files("ocpp").joinpath("v16", "schemas", f"{name}.json").read_text()


def ocpp_schema(name: str) -> Schema:
    """An OCPP 1.6 JSON schema of the ``ocpp`` package (e.g. "ReserveNow",
    "ReserveNowResponse"), as an OpenAPI 3.1 schema object."""
    schema = json.loads(_ocpp_schema_text(name))
    for key in ("$schema", "id", "$id"):
        schema.pop(key, None)
    definitions = schema.pop("definitions", {})
    return _inline(schema, definitions)


def _inline(node: Any, definitions: Schema) -> Any:
    """The security extension's schemas use ``#/definitions/...``: inline them, since in
    the OpenAPI document such a reference would point at the document's root."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            target = copy.deepcopy(definitions[ref.rsplit("/", 1)[-1]])
            return _inline(
                {**target, **{k: v for k, v in node.items() if k != "$ref"}}, definitions
            )
        return {k: _inline(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, definitions) for v in node]
    return node


def request_schema(op: Operation) -> Schema:
    """What the API takes for ``op``: the OCPP request, filled fields optional, extras added."""
    schema = ocpp_schema(op.action)
    required = [f for f in schema.get("required", []) if f not in op.fills]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema.setdefault("properties", {}).update(copy.deepcopy(op.extras))
    for name in op.fills:
        prop = schema["properties"].get(name)
        if prop is not None:
            prop["description"] = "Filled by the Central System when left out."
    return schema


def outcome_schema(op: Operation) -> Schema:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "const": op.action},
            "request": ocpp_schema(op.action),
            "response": ocpp_schema(f"{op.action}Response"),
            "notes": {
                "type": "object",
                "description": "What the Central System did or found (filled fields, "
                "composite check, warnings).",
            },
        },
        "required": ["action", "request", "response", "notes"],
    }


def document(routes: list[Route], server_url: str | None = None) -> Schema:
    """The OpenAPI 3.1 document of ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        entry: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": [route.tag],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": route.response}},
                }
            },
        }
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
            }
            for name in route.path_params()
        ]
        parameters += [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in route.params
        ]
        if parameters:
            entry["parameters"] = parameters
        if route.request_body is not None:
            entry["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": route.request_body}},
            }
        for status, description in route.errors.items():
            entry["responses"][status] = {
                "description": description,
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = entry
    doc: Schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "OCPP bench Central System",
            "version": VERSION,
            "description": "Operate the bench's OCPP 1.6-J Central System: send any "
            "CSMS-initiated request to a connected charge point and read what the charge "
            "points reported. A request to a charge point that is not connected is "
            "answered 409.",
        },
        "paths": paths,
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
