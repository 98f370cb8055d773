"""The live WebSocket over a real werkzeug server (fake bench): feed, commands, CSRF, roles."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from werkzeug.serving import make_server


@pytest.fixture
def server(app):  # type: ignore[no-untyped-def]
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{srv.server_port}"
    app.extensions["bench_api"].close()  # ends the WebSocket loops
    srv.shutdown()
    srv.server_close()


def _cookie(client) -> str:  # type: ignore[no-untyped-def]
    return f"bench_panel={client.get_cookie('bench_panel').value}"


def _open(server, client, origin=None, query="topics=snapshot,frames,runs"):  # type: ignore[no-untyped-def]
    return connect(
        f"ws://{server}/ws?{query}",
        additional_headers={"Cookie": _cookie(client)} if client else {},
        origin=origin,
        open_timeout=5,
    )


def _until(ws, kind, predicate=lambda m: True, timeout=5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if message["type"] == kind and predicate(message):
            return message
    raise AssertionError(f"no {kind} message")


def test_the_websocket_needs_a_login(server):
    with pytest.raises(InvalidStatus) as refused:
        _open(server, None)
    assert refused.value.response.status_code == 401


def test_the_websocket_refuses_a_foreign_origin(server, operator):
    with pytest.raises(InvalidStatus) as refused:
        _open(server, operator, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with _open(server, operator, origin=f"http://{server}") as ws:
        assert _until(ws, "hello")["user"] == "olga"


def test_the_feed_brings_snapshots_and_new_frames(server, operator, system):
    with _open(server, operator) as ws:
        hello = _until(ws, "hello")
        assert hello["role"] == "operator" and hello["trace_next"] == 0
        snap = _until(ws, "snapshot")["snapshot"]
        assert snap["cp_id"] == "BENCH-CP-001" and set(snap["connectors"]) == {"1", "2"}
        system.frame("dut", 2, "x1", "Heartbeat")
        frames = _until(ws, "frames")["frames"]
        assert frames[0]["action"] == "Heartbeat" and frames[0]["index"] == 0
        system.rig.plugged[2] = True
        _until(ws, "snapshot", lambda m: m["snapshot"]["connectors"]["2"]["plugged"])


def test_commands_need_the_csrf_token_and_the_operator_role(server, operator, viewer, system):
    with _open(server, operator) as ws:
        ws.send(json.dumps({"cmd": "plug", "connector": 1, "id": 1}))
        ack = _until(ws, "ack")
        assert (ack["id"], ack["ok"], ack["status"]) == (1, False, 400)
        ws.send(json.dumps({"cmd": "plug", "connector": 1, "id": 2, "csrf": "forged"}))
        assert _until(ws, "ack")["status"] == 403
        assert system.rig.calls == []
        ws.send(json.dumps({"cmd": "plug", "connector": 1, "id": 3, "csrf": operator.csrf}))
        ack = _until(ws, "ack")
        assert ack["ok"] and ack["id"] == 3
        assert system.rig.calls == [("plug", 1)]
        ws.send(json.dumps({"cmd": "tag", "uid": "nothex", "id": 4, "csrf": operator.csrf}))
        assert _until(ws, "ack")["status"] == 400
        ws.send("not json")
        assert _until(ws, "ack")["status"] == 400
    with _open(server, viewer) as ws:
        ws.send(json.dumps({"cmd": "unplug", "connector": 1, "id": 9, "csrf": viewer.csrf}))
        ack = _until(ws, "ack")
        assert (ack["ok"], ack["status"]) == (False, 403)
    assert system.rig.calls == [("plug", 1)]


def test_a_run_started_by_one_user_shows_in_everyones_feed(server, operator, viewer):
    with _open(server, viewer) as ws:
        _until(ws, "hello")
        run = operator.post(
            "/api/runs", json={"cases": ["quick-a"]}, headers={"X-CSRF-Token": operator.csrf}
        ).get_json()
        seen = _until(
            ws, "runs", lambda m: any(r["id"] == run["id"] and r["report"] for r in m["runs"])
        )
        mine = next(r for r in seen["runs"] if r["id"] == run["id"])
        assert mine["started_by"] == "olga" and mine["status"] == "passed"


def test_the_feed_ends_when_the_user_is_removed(server, viewer, tmp_path):
    from websockets.exceptions import ConnectionClosed

    from web.users import UserStore, users_file

    with _open(server, viewer) as ws:
        _until(ws, "hello")
        UserStore(users_file(tmp_path)).remove("victor")
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=15)
        assert ws.close_code == 1008
