"""The live WebSocket ``/ws``: rig values, trace frames, chart points and runs as they change.

Server to page, JSON messages with a ``type``:

* ``hello``: ``user``, ``role``, ``trace_next`` (the next frame index);
* ``snapshot``: the rig, connector statuses, transactions, link/CSMS state, activity;
* ``frames``: new OCPP frames (``frames``: list);
* ``history``: new chart points per connector (``connectors``: {id: {session, points}});
* ``runs``: the run list when it changed; ``run``: the active run with its live step log;
* ``ack``: the answer to a command (``id``, ``ok``, ``status``, ``error``).

Page to server, commands: ``{"cmd": "plug"|"unplug"|"ev_stop"|"tag"|"stop_run",
"csrf": TOKEN, "id": N, ...}``. Each needs the session's CSRF token (400 missing,
403 wrong) and the operator role (403). ``topics`` in the query string (comma
separated: snapshot, frames, history, runs) limits what the page is sent.
"""

from __future__ import annotations

import contextlib
import json
import socket
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from web.auth import check_csrf
from web.errors import BenchError

bp = Blueprint("live", __name__)
_sock = Sock()  # only its route decorator is used; routes live on the blueprint
TOPICS = ("snapshot", "frames", "history", "runs")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, default=_default, separators=(",", ":"))


def _command(api: Any, user: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    ack: dict[str, Any] = {"type": "ack", "id": message.get("id"), "cmd": message.get("cmd")}
    status = check_csrf(message.get("csrf"))
    if status is not None:
        return {**ack, "ok": False, "status": status, "error": "CSRF token missing or wrong"}
    fresh = current_app.extensions["bench_users"].get(user["name"])  # role may have changed
    if fresh is None or fresh["role"] != "operator":
        return {**ack, "ok": False, "status": 403, "error": "operators only"}
    who = fresh["name"]
    cmd = message.get("cmd")
    try:
        if cmd == "plug":
            api.plug(message.get("connector"), user=who)
        elif cmd == "unplug":
            api.unplug(message.get("connector"), user=who)
        elif cmd == "ev_stop":
            api.ev_stop(message.get("connector"), user=who)
        elif cmd == "tag":
            api.present_tag(
                message.get("uid"), hold_s=float(message.get("hold_s") or 0.8), user=who
            )
        elif cmd == "stop_run":
            api.stop_run(message.get("run_id"), user=who)
        else:
            return {**ack, "ok": False, "status": 404, "error": f"unknown command {cmd!r}"}
    except BenchError as exc:
        return {**ack, "ok": False, "status": exc.status, "error": str(exc)}
    except (TypeError, ValueError) as exc:
        return {**ack, "ok": False, "status": 400, "error": str(exc)}
    return {**ack, "ok": True}


def _hang_up(ws, code: int | None = None, message: str | None = None) -> None:
    """Close the WebSocket and the TCP connection under it now.

    Without the shutdown the close can wait on the client: werkzeug drains the
    request socket after the handler returns and may sit in a read until the peer
    closes, while the peer waits for our FIN.
    """
    with contextlib.suppress(Exception):
        if ws.connected:
            ws.close(reason=code, message=message)
    with contextlib.suppress(OSError, AttributeError):
        ws.sock.shutdown(socket.SHUT_RDWR)


@_sock.route("/ws", bp=bp)
def live(ws):
    try:
        _feed(ws)
    finally:
        _hang_up(ws, 1001 if current_app.extensions["bench_api"].closed else None)


def _feed(ws):
    api = current_app.extensions["bench_api"]
    tick = float(current_app.config["WS_TICK_S"])
    user = dict(g.user)
    wanted = set((request.args.get("topics") or ",".join(TOPICS)).split(","))
    try:
        next_frame = int(request.args.get("trace_from", ""))
    except ValueError:
        next_frame = api.trace_length()
    history_seq = _int(request.args.get("history_from"), 0)
    ws.send(
        _dumps(
            {"type": "hello", "user": user["name"], "role": user["role"], "trace_next": next_frame}
        )
    )
    seen_version = -1
    last_runs = None
    last_run = None
    users = current_app.extensions["bench_users"]
    ticks = 0
    while not api.closed:
        try:
            raw = ws.receive(timeout=tick)
        except ConnectionClosed:
            return
        ticks += 1
        if ticks % 20 == 0 and users.get(user["name"]) is None:
            _hang_up(ws, 1008, "the user no longer exists")
            return
        if raw is not None:
            try:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    raise ValueError
            except ValueError:
                ws.send(_dumps({"type": "ack", "ok": False, "status": 400, "error": "not JSON"}))
                continue
            ws.send(_dumps(_command(api, user, message)))
        version = api.version
        if version == seen_version:
            continue
        seen_version = version
        if "snapshot" in wanted:
            ws.send(_dumps({"type": "snapshot", "snapshot": api.snapshot()}))
        if "frames" in wanted:
            frames = api.trace(since=next_frame)
            if frames:
                next_frame = frames[-1]["index"] + 1
                ws.send(_dumps({"type": "frames", "frames": frames}))
        if "history" in wanted:
            hist = api.history(history_seq)
            news = {cid: h for cid, h in hist.items() if h["points"]}
            for h in news.values():
                history_seq = max(history_seq, h["points"][-1]["seq"])
            if news:
                ws.send(_dumps({"type": "history", "connectors": news}))
        if "runs" in wanted:
            runs = api.runs()
            if runs != last_runs:
                last_runs = runs
                ws.send(_dumps({"type": "runs", "runs": runs}))
            active = api.active_run()
            if active != last_run:
                last_run = active
                ws.send(_dumps({"type": "run", "run": active}))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
