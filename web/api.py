"""JSON API under /api: what the pages' scripts read and the operators' commands.

GETs are open to every logged-in user; every POST needs the CSRF token (checked in
``web.auth``) and the operator role.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from web import schemas
from web.auth import operator_required
from web.errors import BenchError

bp = Blueprint("api", __name__, url_prefix="/api")


def _api() -> ResponseReturnValue:
    return current_app.extensions["bench_api"]


def _who() -> str:
    return g.user["name"]


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.form:
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise BenchError("send a JSON object")
    return data


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BenchError(f"{name} must be a number") from None


@bp.errorhandler(BenchError)
def bench_error(exc: BenchError) -> ResponseReturnValue:
    return jsonify({"error": str(exc)}), exc.status


@bp.errorhandler(schemas.PayloadInvalid)
def payload_invalid(exc: schemas.PayloadInvalid) -> ResponseReturnValue:
    return jsonify({"error": "payload does not match the schema", "errors": exc.errors}), 400


@bp.errorhandler(TimeoutError)
def timed_out(exc: TimeoutError) -> ResponseReturnValue:
    return jsonify({"error": "the bench did not answer in time"}), 504


# --- watching ------------------------------------------------------------------------


@bp.get("/snapshot")
def snapshot() -> ResponseReturnValue:
    return jsonify(_api().snapshot())


@bp.get("/history")
def history() -> ResponseReturnValue:
    return jsonify(_api().history(_int_arg("since") or 0))


def _trace_filters() -> dict[str, Any]:
    return {
        "action": request.args.get("action") or None,
        "connector": _int_arg("connector"),
        "cp_id": request.args.get("cp") or None,
    }


@bp.get("/trace")
def trace() -> ResponseReturnValue:
    limit = _int_arg("limit")
    frames = _api().trace(since=_int_arg("since") or 0, limit=limit, **_trace_filters())
    return jsonify({"frames": frames, "next": _api().trace_length()})


@bp.get("/trace.jsonl")
def trace_download() -> ResponseReturnValue:
    """The trace (filtered like the page) as JSON lines, one frame per line."""
    frames = _api().trace_download(since=_int_arg("since") or 0, **_trace_filters())
    body = "".join(json.dumps(f, default=str, separators=(",", ":")) + "\n" for f in frames)
    return Response(
        body,
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="ocpp-trace.jsonl"'},
    )


# --- scenarios and runs ------------------------------------------------------------------


@bp.get("/filters")
def filters() -> ResponseReturnValue:
    return jsonify(_api().filters())


@bp.get("/cases")
def cases() -> ResponseReturnValue:
    return jsonify(
        _api().list_cases(
            role=request.args.get("role") or None,
            profile=request.args.get("profile") or None,
            pics=request.args.get("pics") or None,
            applicability=request.args.get("applicability") or None,
        )
    )


@bp.get("/selections")
def selections() -> ResponseReturnValue:
    return jsonify(_api().selections())


@bp.post("/selections")
@operator_required
def save_selection() -> ResponseReturnValue:
    body = _body()
    _api().save_selection(body.get("name"), body.get("cases"), user=_who())
    return jsonify(_api().selections())


@bp.post("/selections/<name>/delete")
@operator_required
def delete_selection(name: str) -> ResponseReturnValue:
    _api().delete_selection(name, user=_who())
    return jsonify(_api().selections())


@bp.get("/runs")
def runs() -> ResponseReturnValue:
    return jsonify(_api().runs())


@bp.post("/runs")
@operator_required
def start_run() -> ResponseReturnValue:
    """Body: ``cases`` (ids), or ``selection`` (a saved name), or ``profile`` (+ ``role``);
    optional ``pics`` and ``speed``."""
    body = _body()
    api = _api()
    ids = api.resolve(
        cases=body.get("cases") or None,
        role=body.get("role") or None,
        profile=body.get("profile") or None,
        selection=body.get("selection") or None,
    )
    label = None
    if not body.get("cases"):
        label = (
            f"selection {body['selection']}"
            if body.get("selection")
            else f"profile {body.get('profile')}"
            + (f" ({body['role']})" if body.get("role") else "")
        )
    speed = body.get("speed")
    try:
        speed = float(speed) if speed not in (None, "") else None
    except (TypeError, ValueError):
        raise BenchError("speed must be a number") from None
    record = api.start_run(
        ids, user=_who(), pics=body.get("pics") or None, speed=speed, label=label
    )
    return jsonify(record), 202


@bp.get("/runs/<run_id>")
def run(run_id: str) -> ResponseReturnValue:
    record = _api().run(run_id)
    if record is None:
        return jsonify({"error": f"no run {run_id}"}), 404
    return jsonify(record)


@bp.post("/runs/<run_id>/stop")
@operator_required
def stop_run(run_id: str) -> ResponseReturnValue:
    return jsonify(_api().stop_run(run_id, user=_who()))


@bp.post("/runs/<run_id>/delete")
@operator_required
def delete_run(run_id: str) -> ResponseReturnValue:
    _api().delete_run(run_id, user=_who())
    return jsonify({"deleted": run_id})


# --- manual control ------------------------------------------------------------------------


@bp.post("/rig/<int:connector>/<action>")
@operator_required
def rig_action(connector: int, action: str) -> ResponseReturnValue:
    api = _api()
    do = {"plug": api.plug, "unplug": api.unplug, "ev-stop": api.ev_stop}.get(action)
    if do is None:
        return jsonify({"error": f"unknown rig action {action!r}"}), 404
    do(connector, user=_who())
    return jsonify({"ok": True})


@bp.post("/rig/tag")
@operator_required
def present_tag() -> ResponseReturnValue:
    body = _body()
    uid = body.get("uid")
    try:
        hold = float(body.get("hold_s") or 0.8)
    except (TypeError, ValueError):
        raise BenchError("hold_s must be a number") from None
    _api().present_tag(uid, hold_s=hold, user=_who())
    return jsonify({"ok": True})


@bp.post("/faults/<kind>")
@operator_required
def fault(kind: str) -> ResponseReturnValue:
    body = _body() if (request.data or request.form) else {}
    params = {k: body[k] for k in ("connector", "fault") if k in body}
    done = _api().inject_fault(kind.replace("-", "_"), user=_who(), **params)
    return jsonify({"ok": True, "done": done})


@bp.get("/operations")
def operations() -> ResponseReturnValue:
    return jsonify(_api().operations())


@bp.get("/operations/<action>/schema")
def operation_schema(action: str) -> ResponseReturnValue:
    try:
        return jsonify(schemas.schema(action))
    except schemas.UnknownAction:
        return jsonify({"error": f"{action!r} is not an operation the CSMS sends"}), 404


@bp.post("/operations/<action>")
@operator_required
def send_operation(action: str) -> ResponseReturnValue:
    """Body: the request's wire payload (camelCase JSON object); ``?cp=ID`` another
    connected charge point than the bench's own."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise BenchError("send the payload as a JSON object")
    cp_id = request.args.get("cp") or None
    return jsonify(_api().send_operation(action, payload, user=_who(), cp_id=cp_id))
