"""The operator panel of an interactive run: pending steps, answered by an operator."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bench.scenarios.operator_prompt import OperatorFailed, OperatorPrompts
from tests.web.test_web_live import _until as until_message
from web import create_operator_app
from web.serve import start_operator_panel
from web.users import add_user

DEADLINE_S = 30.0


class Asker:
    """Asks steps on an event loop of its own, as the run does beside the panel."""

    def __init__(self, prompts: OperatorPrompts) -> None:
        self.prompts = prompts
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def ask(self, text: str, timeout_s: float = 60):  # type: ignore[no-untyped-def]
        coroutine = self.prompts.ask("EXT-CP-1", text, timeout_s)
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        deadline = time.monotonic() + DEADLINE_S
        while not any(s["text"] == text for s in self.prompts.pending()):
            assert time.monotonic() < deadline, "the step was never asked"
            time.sleep(0.01)
        return future

    def close(self) -> None:
        self.prompts.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(DEADLINE_S)
        self.loop.close()


@pytest.fixture
def prompts():  # type: ignore[no-untyped-def]
    return OperatorPrompts()


@pytest.fixture
def asker(prompts):  # type: ignore[no-untyped-def]
    asker = Asker(prompts)
    yield asker
    asker.close()


@pytest.fixture
def operator_app(prompts, tmp_path, helpers):  # type: ignore[no-untyped-def]
    for name, password in helpers.passwords.items():
        add_user(tmp_path, name, password, "operator" if name == "olga" else "viewer")
    return create_operator_app(
        prompts, {"STATE_DIR": str(tmp_path), "TESTING": True, "WS_TICK_S": 0.05}
    )


def _client(app, helpers, name):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.csrf = helpers.login(client, name)
    return client


def test_an_operator_answers_a_pending_step_in_the_panel(operator_app, asker, helpers):
    olga = _client(operator_app, helpers, "olga")
    answered = asker.ask("plug an EV into connector 1")
    page = olga.get("/").get_data(as_text=True)
    assert "Operator steps" in page and "operator.js" in page
    listing = olga.get("/api/operator/steps").get_json()
    [step] = listing["steps"]
    assert (step["cp_id"], step["text"], step["timeout_s"]) == (
        "EXT-CP-1",
        "plug an EV into connector 1",
        60,
    )
    assert 0 < step["seconds_left"] <= 60 and listing["closed"] is False
    response = olga.post(
        f"/api/operator/steps/{step['id']}",
        json={"done": True},
        headers={"X-CSRF-Token": olga.csrf},
    )
    assert response.status_code == 200, response.get_json()
    assert answered.result(DEADLINE_S) == (True, "olga in the panel")
    assert olga.get("/api/operator/steps").get_json()["steps"] == []
    again = olga.post(
        f"/api/operator/steps/{step['id']}",
        json={"done": True},
        headers={"X-CSRF-Token": olga.csrf},
    )
    assert again.status_code == 409 and "answered already" in again.get_json()["error"]
    never = olga.post(
        "/api/operator/steps/99", json={"done": True}, headers={"X-CSRF-Token": olga.csrf}
    )
    assert never.status_code == 404


def test_cannot_do_it_in_the_panel_fails_the_step(operator_app, asker, helpers):
    olga = _client(operator_app, helpers, "olga")
    answered = asker.ask("press the emergency stop")
    [step] = olga.get("/api/operator/steps").get_json()["steps"]
    response = olga.post(
        f"/api/operator/steps/{step['id']}",
        json={"done": False},
        headers={"X-CSRF-Token": olga.csrf},
    )
    assert response.status_code == 200
    with pytest.raises(OperatorFailed, match=r"\(olga in the panel\) could not press the emerg"):
        answered.result(DEADLINE_S)


def test_only_a_logged_in_operator_with_the_csrf_token_answers(operator_app, asker, helpers):
    answered = asker.ask("unplug the EV from connector 2")
    step_id = asker.prompts.pending()[0]["id"]
    anonymous = operator_app.test_client()
    assert anonymous.get("/api/operator/steps").status_code == 401
    assert anonymous.get("/").status_code == 302  # to the login form
    victor = _client(operator_app, helpers, "victor")
    assert len(victor.get("/api/operator/steps").get_json()["steps"]) == 1  # may watch
    refused = victor.post(
        f"/api/operator/steps/{step_id}", json={"done": True}, headers={"X-CSRF-Token": victor.csrf}
    )
    assert refused.status_code == 403
    olga = _client(operator_app, helpers, "olga")
    assert olga.post(f"/api/operator/steps/{step_id}", json={"done": True}).status_code == 400
    assert not answered.done() and len(asker.prompts.pending()) == 1


def test_the_websocket_shows_steps_as_they_come_and_answers_one(prompts, asker, tmp_path, helpers):
    for name, password in helpers.passwords.items():
        add_user(tmp_path, name, password, "operator" if name == "olga" else "viewer")
    url, stop = start_operator_panel(prompts, tmp_path, port=0, config={"WS_TICK_S": 0.05})
    try:
        host = url.split("//", 1)[1].rstrip("/")
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://{host}/ws/operator", open_timeout=DEADLINE_S)
        assert refused.value.response.status_code == 401
        cookie, csrf = _browser_login(url, "olga", helpers)
        with connect(
            f"ws://{host}/ws/operator",
            additional_headers={"Cookie": cookie},
            open_timeout=DEADLINE_S,
        ) as ws:
            assert _until(ws, "hello")["role"] == "operator"
            assert _until(ws, "prompts")["steps"] == []
            prompts.set_case("#1/1 TC_003_CS: Regular charging session")
            answered = asker.ask("present card 0A00B1C2D3 to the reader and take it away")
            shown = _until(ws, "prompts", lambda m: m["steps"])
            assert shown["case"] == "#1/1 TC_003_CS: Regular charging session"
            [step] = shown["steps"]
            ws.send(json.dumps({"cmd": "answer", "step": step["id"], "done": True, "id": 1}))
            assert _until(ws, "ack")["status"] == 400  # no CSRF token
            assert not answered.done()
            command = {"cmd": "answer", "step": step["id"], "done": True, "id": 2, "csrf": csrf}
            ws.send(json.dumps(command))
            ack = _until(ws, "ack")
            assert (ack["id"], ack["ok"]) == (2, True), ack
            assert answered.result(DEADLINE_S) == (True, "olga in the panel")
            assert _until(ws, "prompts", lambda m: not m["steps"])["steps"] == []
            ws.send(json.dumps(command))
            assert _until(ws, "ack")["status"] == 409  # answered already
            stop()  # the run is over: the page is told, the socket closes
            assert _until(ws, "prompts", lambda m: m["closed"])["closed"]
    finally:
        stop()


def _browser_login(url: str, name: str, helpers) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Log in over HTTP as a browser does; (Cookie header, CSRF token)."""
    from bench.rig.panel_hook import Panel

    panel = Panel(url).login(name, helpers.passwords[name])
    [jar] = [h.cookiejar for h in panel.opener.handlers if hasattr(h, "cookiejar")]
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, panel.csrf


def test_one_browser_stays_logged_in_to_the_bench_panel_and_the_operator_panel(
    app, prompts, tmp_path, helpers
):
    """Cookies ignore ports: both panels on 127.0.0.1 must not void each other's login."""
    from werkzeug.serving import make_server

    from bench.rig.panel_hook import Panel

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url, stop = start_operator_panel(prompts, tmp_path, port=0)
    try:
        bench = Panel(f"http://127.0.0.1:{server.server_port}").login(
            "olga", helpers.passwords["olga"]
        )
        operator = Panel(url)
        operator.opener = bench.opener  # the same browser: one cookie jar
        operator.login("olga", helpers.passwords["olga"])
        assert bench.get("/api/snapshot")["cp_id"] == "BENCH-CP-001"
        assert operator.get("/api/operator/steps")["steps"] == []
    finally:
        stop()
        app.extensions["bench_api"].close()
        server.shutdown()
        server.server_close()


def _until(ws, kind, predicate=lambda m: True):  # type: ignore[no-untyped-def]
    return until_message(ws, kind, predicate, timeout=DEADLINE_S)
