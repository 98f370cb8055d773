"""The operator steps of an interactive run, the panel's front end of them.

``bench run --dut external --interactive`` asks a person to plug an EV, present a
card, cut the power...: each pending step (:class:`bench.scenarios.operator_prompt.
OperatorPrompts`) is shown here with "Done" and "Cannot do it". The console asks the
same steps; the first answer wins. Everyone logged in sees them, operators answer.

* ``GET /``: the page; ``GET /api/operator/steps``: ``{"steps": [...], "case", "closed"}``;
* ``POST /api/operator/steps/ID`` ``{"done": true|false}`` (CSRF token, operator):
  200, 404 unknown step, 409 already answered (by the console, another user or the
  time limit);
* ``/ws/operator``: the same list whenever it changes (``type`` ``prompts``); commands
  ``{"cmd": "answer", "step": ID, "done": BOOL, "id": N, "csrf": TOKEN}`` get an ``ack``.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from bench.scenarios.operator_prompt import StepGone
from web.auth import check_csrf, operator_required

bp = Blueprint("operator", __name__)
_sock = Sock()  # only its route decorator is used; routes live on the blueprint


def _prompts() -> Any:
    return current_app.extensions["operator_prompts"]


def _listing(prompts: Any) -> dict[str, Any]:
    return {"steps": prompts.pending(), "case": prompts.case, "closed": prompts.closed}


def _answer(prompts: Any, step: Any, done: Any, who: str) -> tuple[int, str]:
    """(HTTP status, message) of answering ``step`` for ``who``."""
    if not isinstance(step, int) or isinstance(step, bool) or not isinstance(done, bool):
        return 400, 'send {"done": true or false} for a step number'
    try:
        prompts.answer(step, done, f"{who} in the panel")
    except StepGone as exc:
        return 409 if exc.asked else 404, str(exc)
    return 200, "done" if done else "cannot do it"


@bp.get("/")
def steps_page() -> ResponseReturnValue:
    return render_template("operator.html", page="operator")


@bp.get("/api/operator/steps")
def steps() -> ResponseReturnValue:
    return jsonify(_listing(_prompts()))


@bp.post("/api/operator/steps/<int:step_id>")
@operator_required
def answer(step_id: int) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    done = body.get("done") if isinstance(body, dict) else None
    status, message = _answer(_prompts(), step_id, done, g.user["name"])
    key = "error" if status != 200 else "answer"
    return jsonify({key: message}), status


@_sock.route("/ws/operator", bp=bp)
def live(ws) -> None:
    prompts = _prompts()
    try:
        _feed(ws, prompts)
    finally:
        with contextlib.suppress(Exception):
            if ws.connected:
                ws.close(reason=1001 if prompts.closed else None)
        with contextlib.suppress(OSError, AttributeError):
            ws.sock.shutdown(socket.SHUT_RDWR)  # as web.live: werkzeug may wait on the peer


def _feed(ws, prompts: Any) -> None:
    tick = float(current_app.config["WS_TICK_S"])
    user = dict(g.user)
    users = current_app.extensions["bench_users"]
    ws.send(json.dumps({"type": "hello", "user": user["name"], "role": user["role"]}))
    seen = -1
    while True:
        if prompts.version != seen:
            seen = prompts.version
            ws.send(json.dumps({"type": "prompts", **_listing(prompts)}))
        if prompts.closed:
            return
        try:
            raw = ws.receive(timeout=tick)
        except ConnectionClosed:
            return
        if raw is not None:
            ws.send(json.dumps(_command(prompts, users, user["name"], raw)))


def _command(prompts: Any, users: Any, name: str, raw: str) -> dict[str, Any]:
    try:
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise ValueError
    except ValueError:
        return {"type": "ack", "ok": False, "status": 400, "error": "not JSON"}
    ack = {"type": "ack", "id": message.get("id"), "cmd": message.get("cmd")}
    refused = check_csrf(message.get("csrf"))
    if refused is not None:
        return {**ack, "ok": False, "status": refused, "error": "CSRF token missing or wrong"}
    fresh = users.get(name)  # the role may have changed since the socket opened
    if fresh is None or fresh["role"] != "operator":
        return {**ack, "ok": False, "status": 403, "error": "operators only"}
    if message.get("cmd") != "answer":
        return {**ack, "ok": False, "status": 404, "error": f"unknown command {ack['cmd']!r}"}
    status, text = _answer(prompts, message.get("step"), message.get("done"), name)
    if status != 200:
        return {**ack, "ok": False, "status": status, "error": text}
    return {**ack, "ok": True, "answer": text}
