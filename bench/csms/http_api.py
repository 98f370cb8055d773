"""The Central System's HTTP JSON API (Flask), served by ``CentralSystem.start_api``.

Every route is declared once in :func:`routes`: the Flask rules and the OpenAPI
document (``GET /api/openapi.json``, :mod:`bench.csms.openapi`) both come from it.

* ``POST /api/charge-points/{cp_id}/operations/{Action}`` - one route per
  CSMS-initiated OCPP action; the body is the request payload as on the wire
  (camelCase), where the fields the CSMS fills may be left out. The answer is
  ``{"action", "request" (as sent), "response" (as received), "notes"}``.
  A charge point that is not connected gives 409, an unknown one 404, a request
  that cannot be sent 400, a CALLERROR 502, no answer in time 504; errors are
  ``{"error", "message"}``.
* ``GET`` routes read what the charge points reported: charge points, transactions,
  meter values, reservations, firmware rollout, status and more.

Flask runs in its own thread; everything that touches the CSMS (its SQLite store
is used from the event loop only) runs on the CSMS's loop through
``CentralSystem.run_on_loop``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from bench.csms.openapi import (
    OPERATION_ERRORS,
    Param,
    Route,
    document,
    outcome_schema,
    request_schema,
)
from bench.csms.operations import OPERATIONS, Operation, OperationError
from bench.csms.registry_api import RegistryApiError, registry_routes
from charger.protocol.errors import CallErrorReceived, NotConnected

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem

PREFIX = "/api"
LIST = {"type": "array", "items": {"type": "object"}}
OBJECT = {"type": "object"}
CP_ID = Param("cp_id", {"type": "string"}, "Only this charge point.")


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, **extra}


def routes(cs: CentralSystem) -> list[Route]:
    """Every route of the API, bound to ``cs``."""

    def read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return cs.call_on_loop(fn, *args, **kwargs)

    def known(cp_id: str) -> None:
        if read(cs.store.charge_point, cp_id) is None:
            raise ApiError(404, "unknown_charge_point", f"no charge point {cp_id!r} is registered")

    def arg_int(name: str) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, "bad_request", f"{name} must be an integer") from None

    def arg_bool(name: str) -> bool:
        return request.args.get(name, "").lower() in ("1", "true", "yes")

    # -- views --------------------------------------------------------------------------

    def openapi() -> Any:
        return document(table, cs.api_url)

    def status() -> Any:
        return read(cs.status)

    def charge_points() -> Any:
        return read(cs.charge_points)

    def charge_point(cp_id: str) -> Any:
        known(cp_id)
        found = [c for c in read(cs.charge_points) if c["id"] == cp_id]
        return found[0]

    def statuses(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.store.status_history, cp_id)

    def notifications(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.store.notifications, cp_id, request.args.get("action") or None)

    def security(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.security_overview, cp_id)

    def configuration(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.store.configuration, cp_id)

    def local_list(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.store.local_list, cp_id)

    def charging_profiles(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.charging_profiles, cp_id)

    def composite_checks(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.composite_checks, cp_id)

    def operations_log(cp_id: str) -> Any:
        known(cp_id)
        return read(cs.store.operations, cp_id, arg_int("limit") or 100)

    def transactions() -> Any:
        rows = read(cs.store.transactions, request.args.get("cp_id") or None)
        if arg_bool("open"):
            rows = [r for r in rows if r["stop_ts"] is None]
        return rows

    def meter_values() -> Any:
        return read(
            cs.store.all_meter_values,
            request.args.get("cp_id") or None,
            arg_int("transaction_id"),
            arg_int("limit") or 1000,
        )

    def reservations() -> Any:
        return read(cs.reservations, request.args.get("cp_id") or None, arg_bool("active"))

    def firmware_rollout() -> Any:
        return read(cs.firmware_rollout, request.args.get("cp_id") or None)

    def firmware() -> Any:
        return read(cs.firmware_files)

    def diagnostics() -> Any:
        return {
            "files": read(cs.diagnostics_files),
            "requests": read(cs.store.diagnostics_requests, request.args.get("cp_id") or None),
        }

    def operate_view(op: Operation) -> Callable[..., Any]:
        def view(cp_id: str) -> Any:
            body = request.get_json(silent=True) if request.data else {}
            if not isinstance(body, dict):
                raise ApiError(400, "bad_request", "the body must be a JSON object")
            known(cp_id)
            wait = cs.clock.wall(cs.response_timeout) * 2 + 5
            try:
                outcome = cs.run_on_loop(cs.operate(cp_id, op.action, body), timeout=wait)
            except NotConnected as exc:
                raise ApiError(409, "not_connected", str(exc)) from None
            except OperationError as exc:
                raise ApiError(400, "bad_request", str(exc)) from None
            except CallErrorReceived as exc:
                raise ApiError(
                    502,
                    "call_error",
                    f"the charge point answered {op.action} with CALLERROR {exc.code}: "
                    f"{exc.description}",
                    code=exc.code,
                ) from None
            except TimeoutError:
                raise ApiError(
                    504,
                    "timeout",
                    f"{cp_id} did not answer {op.action} within {cs.response_timeout:g} s",
                ) from None
            return outcome.to_json()

        view.__name__ = f"operate_{op.method}"
        return view

    cp_errors = {"404": "unknown charge point"}
    table: list[Route] = [
        Route("GET", f"{PREFIX}/openapi.json", "openapi", "This document.", openapi),
        Route("GET", f"{PREFIX}/status", "status", "The CSMS: URLs, clock, FTP.", status),
        Route(
            "GET",
            f"{PREFIX}/charge-points",
            "listChargePoints",
            "Registered charge points, connected or not, with connector statuses.",
            charge_points,
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}",
            "getChargePoint",
            "One charge point.",
            charge_point,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/statuses",
            "statusHistory",
            "Every StatusNotification of the charge point.",
            statuses,
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/notifications",
            "notifications",
            "Firmware, diagnostics, DataTransfer and security notifications, oldest first.",
            notifications,
            params=(Param("action", {"type": "string"}, "e.g. FirmwareStatusNotification"),),
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/security",
            "security",
            "Security profile, certificates issued and installed, GetLog and "
            "SignedUpdateFirmware requests, security events.",
            security,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/configuration",
            "configuration",
            "Configuration keys as the charge point last reported them.",
            configuration,
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/local-list",
            "localList",
            "The local authorization list the charge point holds (version, entries).",
            local_list,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/charging-profiles",
            "chargingProfiles",
            "Charging profiles installed on the charge point, as the CSMS knows them.",
            charging_profiles,
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/composite-checks",
            "compositeChecks",
            "Each GetCompositeSchedule answer against the CSMS's prediction.",
            composite_checks,
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/charge-points/{{cp_id}}/operations",
            "operationLog",
            "The CSMS-initiated requests sent to the charge point and their outcomes.",
            operations_log,
            params=(Param("limit", {"type": "integer"}),),
            response=LIST,
            errors=cp_errors,
        ),
        Route(
            "GET",
            f"{PREFIX}/transactions",
            "listTransactions",
            "Transactions, oldest first.",
            transactions,
            params=(CP_ID, Param("open", {"type": "boolean"}, "Only running ones.")),
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/meter-values",
            "listMeterValues",
            "Sampled values (latest ``limit``, oldest first).",
            meter_values,
            params=(
                CP_ID,
                Param("transaction_id", {"type": "integer"}),
                Param("limit", {"type": "integer"}),
            ),
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/reservations",
            "listReservations",
            "Reservations; an Accepted one past its expiry shows as Expired.",
            reservations,
            params=(CP_ID, Param("active", {"type": "boolean"})),
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/firmware-rollout",
            "firmwareRollout",
            "Per charge point: the latest UpdateFirmware and the statuses since.",
            firmware_rollout,
            params=(CP_ID,),
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/firmware",
            "firmwareFiles",
            "Firmware files in the FTP store.",
            firmware,
            response=LIST,
        ),
        Route(
            "GET",
            f"{PREFIX}/diagnostics",
            "diagnostics",
            "Uploaded diagnostics files and GetDiagnostics requests.",
            diagnostics,
            params=(CP_ID,),
        ),
    ]
    table.extend(registry_routes(cs, read))
    for op in OPERATIONS.values():
        table.append(
            Route(
                "POST",
                f"{PREFIX}/charge-points/{{cp_id}}/operations/{op.action}",
                op.action[0].lower() + op.action[1:],
                f"{op.summary} ({op.profile})",
                operate_view(op),
                tag=op.profile,
                request_body=request_schema(op),
                response=outcome_schema(op),
                errors=OPERATION_ERRORS,
            )
        )
    return table


def create_app(cs: CentralSystem, token: str | None = None) -> Flask:
    """The Flask app for ``cs``: every route but the document needs
    ``Authorization: Bearer <token>`` (without a token, every such call is refused)."""
    app = Flask("bench.csms.http_api")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    table = routes(cs)
    app.config["ROUTES"] = table
    for route in table:
        app.add_url_rule(
            route.flask_rule,
            endpoint=route.operation_id,
            view_func=_json_view(route.view),
            methods=[route.method],
        )

    @app.before_request
    def check_token() -> Any:
        if request.path == f"{PREFIX}/openapi.json":
            return None
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return jsonify(error="unauthorized", message="a valid bearer token is required"), 401
        return None

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Any:
        return jsonify(exc.body), exc.status

    @app.errorhandler(RegistryApiError)
    def registry_error(exc: RegistryApiError) -> Any:
        return jsonify(error=exc.error, message=str(exc)), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return jsonify(error="not_found" if exc.code == 404 else "http", message=str(exc)), (
            exc.code or 500
        )

    return app


def _json_view(view: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(**kwargs: Any) -> Any:
        return jsonify(view(**kwargs))

    wrapped.__name__ = view.__name__
    return wrapped
