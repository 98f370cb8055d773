"""The registry's HTTP routes: charge points, their passwords, CSV import, idTags, firmware.

Declared as :class:`bench.csms.openapi.Route` like every other route, so the OpenAPI
document lists them. Passwords a person chose are hashed (scrypt) in the API's thread;
only the store writes run on the CSMS's loop. A generated password is in the answer
once and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import request

from bench.csms.chargepoints import RegistryError, credentials_csv, hash_records, parse_csv
from bench.csms.openapi import Param, Route

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem

PREFIX = "/api"
LIST = {"type": "array", "items": {"type": "object"}}
ID_TAG_STATUSES = ["Accepted", "Blocked", "Expired", "Invalid"]
MAX_FIRMWARE_BYTES = 64 * 1024 * 1024
NEW_CP = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "profile": {"type": "integer", "enum": [1, 2, 3]},
        "password": {
            "type": "string",
            "description": "16-40 characters; left out: the CSMS generates one (shown once).",
        },
    },
    "required": ["id"],
}
PASSWORD = {
    "type": "object",
    "properties": {"password": NEW_CP["properties"]["password"]},
}
PROFILE = {
    "type": "object",
    "properties": {"profile": {"type": "integer", "enum": [1, 2, 3]}},
    "required": ["profile"],
}
ID_TAG = {
    "type": "object",
    "properties": {
        "idTag": {"type": "string", "maxLength": 20},
        "status": {"type": "string", "enum": ID_TAG_STATUSES},
        "expiryDate": {"type": "string", "format": "date-time"},
        "parentIdTag": {"type": "string", "maxLength": 20},
    },
    "required": ["idTag"],
}
IMPORT = {
    "type": "object",
    "properties": {
        "csv": {"type": "string", "description": "header id[,profile][,password]"},
        "profile": {"type": "integer", "enum": [1, 2, 3], "description": "default profile"},
    },
    "required": ["csv"],
}
ERRORS = {"400": "bad request", "404": "unknown", "409": "already registered"}


class RegistryApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error = status, error


def registry_routes(cs: CentralSystem, read: Callable[..., Any]) -> list[Route]:
    """The registry routes, bound to ``cs``; ``read`` runs a function on the CSMS's loop."""

    def on_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return read(fn, *args, **kwargs)
        except RegistryError as exc:
            raise RegistryApiError(exc.status, "registry", str(exc)) from None

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True) if request.data else {}
        if not isinstance(data, dict):
            raise RegistryApiError(400, "bad_request", "the body must be a JSON object")
        return data

    def records(rows: list[dict[str, Any]], profile: Any) -> Any:
        try:
            return hash_records(rows, profile or cs.main_profile)  # this thread, not the loop
        except RegistryError as exc:
            raise RegistryApiError(400, "bad_request", str(exc)) from None

    def registry() -> Any:
        rows = on_loop(cs.registry)
        connected = set(on_loop(cs.connected_ids))
        return [{**r, "connected": r["id"] in connected} for r in rows]

    def add() -> Any:
        data = body()
        (record,) = records([data], data.get("profile"))
        on_loop(cs.store_records, [record])
        return {"id": record.cp_id, "profile": record.profile, "password": record.generated}

    def remove(cp_id: str) -> Any:
        on_loop(cs.remove_charge_point, cp_id)
        return {"removed": cp_id}

    def password(cp_id: str) -> Any:
        data = body()
        chosen = data.get("password") or None
        if chosen is not None and not isinstance(chosen, str):
            raise RegistryApiError(400, "bad_request", "password must be a string")
        # a chosen password is hashed here (scrypt), not on the loop
        row = on_loop(cs.store.security, cp_id) or {}
        (record,) = records([{"id": cp_id, "password": chosen}], row.get("profile"))
        if on_loop(cs.store.charge_point, cp_id) is None:
            raise RegistryApiError(404, "registry", f"no charge point {cp_id!r} is registered")
        if record.profile == 3:
            raise RegistryApiError(400, "registry", f"{cp_id} uses certificates (profile 3)")
        on_loop(cs.store_records, [record], replace=True)
        return {"id": cp_id, "password": record.generated}

    def profile(cp_id: str) -> Any:
        data = body()
        on_loop(cs.set_security_profile, cp_id, data.get("profile"))
        return {"id": cp_id, "profile": int(data["profile"])}

    def import_csv() -> Any:
        if request.mimetype == "text/csv":
            text, profile = request.get_data(as_text=True), request.args.get("profile")
        else:
            data = body()
            text, profile = data.get("csv"), data.get("profile")
        if not isinstance(text, str):
            raise RegistryApiError(400, "bad_request", "give the CSV as text/csv or {'csv': ...}")
        try:
            rows = parse_csv(text)
        except RegistryError as exc:
            raise RegistryApiError(400, "bad_request", str(exc)) from None
        batch = records(rows, profile)
        ids = on_loop(cs.store_records, batch)
        return {"added": len(ids), "credentials_csv": credentials_csv(batch)}

    def id_tags() -> Any:
        return on_loop(cs.store.id_tags)

    def add_id_tag() -> Any:
        data = body()
        tag = data.get("idTag")
        if not isinstance(tag, str) or not 1 <= len(tag) <= 20:
            raise RegistryApiError(400, "bad_request", "idTag: 1-20 characters")
        try:
            on_loop(
                cs.add_id_tag,
                tag,
                data.get("status") or "Accepted",
                data.get("expiryDate") or None,
                data.get("parentIdTag") or None,
            )
        except ValueError as exc:
            raise RegistryApiError(400, "bad_request", str(exc)) from None
        return {"idTag": tag}

    def remove_id_tag(id_tag: str) -> Any:
        on_loop(cs.remove_id_tag, id_tag)
        return {"removed": id_tag}

    def add_firmware() -> Any:
        name = request.args.get("name", "")
        if request.content_length and request.content_length > MAX_FIRMWARE_BYTES:
            raise RegistryApiError(400, "bad_request", "firmware larger than 64 MiB")
        data = request.get_data(cache=False)
        if not data:
            raise RegistryApiError(400, "bad_request", "the body is the firmware file")
        try:
            return on_loop(cs.add_firmware, name, data)
        except ValueError as exc:
            raise RegistryApiError(400, "bad_request", str(exc)) from None

    cp = f"{PREFIX}/charge-points"
    return [
        Route(
            "GET",
            f"{PREFIX}/registry",
            "registry",
            "Charge points and profiles.",
            registry,
            response=LIST,
        ),
        Route(
            "POST",
            cp,
            "addChargePoint",
            "Register a charge point; a generated password is in the answer once.",
            add,
            request_body=NEW_CP,
            errors=ERRORS,
        ),
        Route(
            "DELETE",
            f"{cp}/{{cp_id}}",
            "removeChargePoint",
            "Forget a charge point.",
            remove,
            errors=ERRORS,
        ),
        Route(
            "POST",
            f"{cp}/{{cp_id}}/password",
            "setPassword",
            "A new Basic-auth password (generated when left out, shown once).",
            password,
            request_body=PASSWORD,
            errors=ERRORS,
        ),
        Route(
            "POST",
            f"{cp}/{{cp_id}}/profile",
            "setProfile",
            "The security profile the charge point must connect with (its connection is "
            "closed; over OCPP, raise it with ChangeConfiguration SecurityProfile).",
            profile,
            request_body=PROFILE,
            errors=ERRORS,
        ),
        Route(
            "POST",
            f"{cp}/import",
            "importChargePoints",
            "Register many from CSV (one transaction); generated passwords come back as CSV.",
            import_csv,
            request_body=IMPORT,
            errors=ERRORS,
        ),
        Route(
            "GET", f"{PREFIX}/id-tags", "listIdTags", "The CSMS's idTags.", id_tags, response=LIST
        ),
        Route(
            "POST",
            f"{PREFIX}/id-tags",
            "addIdTag",
            "Add or replace an idTag.",
            add_id_tag,
            request_body=ID_TAG,
            errors=ERRORS,
        ),
        Route(
            "DELETE",
            f"{PREFIX}/id-tags/{{id_tag}}",
            "removeIdTag",
            "Remove an idTag.",
            remove_id_tag,
            errors=ERRORS,
        ),
        Route(
            "POST",
            f"{PREFIX}/firmware",
            "addFirmware",
            "Put a firmware file (the raw body) into the FTP store.",
            add_firmware,
            params=(Param("name", {"type": "string"}, "file name", required=True),),
            errors=ERRORS,
        ),
    ]
