"""The panel with Flask's test client over a fake bench: login, roles, CSRF, API, runs."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from ocpp.v16 import call

from web.bench_api import BenchApi, RunBusy

# --- login and roles ---


def test_every_page_and_api_needs_a_login(app):
    client = app.test_client()
    for page in ("/", "/scenarios", "/control", "/trace"):
        response = client.get(page)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert client.get("/api/snapshot").status_code == 401
    assert client.get("/api/trace.jsonl").status_code == 401
    assert client.post("/api/rig/1/plug", json={}).status_code == 401
    assert client.get("/static/panel.css").status_code == 200  # the login page needs it


def test_login_with_a_wrong_password_is_refused(app, helpers):
    client = app.test_client()
    token = helpers.token_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "olga", "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "wrong user name or password" in response.get_data(as_text=True)
    response = client.post(
        "/login", data={"username": "nobody", "password": "whatever1", "csrf_token": token}
    )
    assert response.status_code == 401
    assert client.get("/api/snapshot").status_code == 401


def test_the_login_form_itself_needs_the_csrf_token(app, helpers):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "olga", "password": "operator-pass-1"})
    assert response.status_code == 400
    assert client.get("/api/snapshot").status_code == 401


def test_login_redirects_only_within_the_panel(app, helpers):
    client = app.test_client()
    token = helpers.token_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "username": "olga",
            "password": "operator-pass-1",
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_gives_a_new_csrf_token_and_logout_ends_the_session(app, helpers):
    client = app.test_client()
    before = helpers.token_of(client.get("/login").get_data(as_text=True))
    after = helpers.login(client, "olga")
    assert before != after
    assert client.get("/api/snapshot").status_code == 200
    assert client.post("/logout", headers={"X-CSRF-Token": after}).status_code == 302
    assert client.get("/api/snapshot").status_code == 401


def test_viewer_may_watch_but_every_post_is_403(viewer, system):
    for page in ("/", "/scenarios", "/control", "/trace"):
        assert viewer.get(page).status_code == 200
    assert viewer.get("/api/snapshot").status_code == 200
    headers = {"X-CSRF-Token": viewer.csrf}
    posts = [
        ("/api/rig/1/plug", {}),
        ("/api/rig/tag", {"uid": "0A00B1C2D3"}),
        ("/api/faults/link_cut", {}),
        ("/api/operations/Reset", {"type": "Soft"}),
        ("/api/runs", {"cases": ["quick-a"]}),
        ("/api/selections", {"name": "mine", "cases": ["quick-a"]}),
    ]
    for url, body in posts:
        response = viewer.post(url, json=body, headers=headers)
        assert response.status_code == 403, url
        assert "operators only" in response.get_json()["error"]
    assert system.rig.calls == []
    assert system.proxy.up
    assert system.csms.sent == []


def test_viewer_sees_no_controls(viewer):
    page = viewer.get("/control").get_data(as_text=True)
    assert "You are logged in as a viewer" in page


def test_a_removed_user_is_logged_out(operator, app, tmp_path):
    from web.users import UserStore, users_file

    UserStore(users_file(tmp_path)).remove("olga")
    assert operator.get("/api/snapshot").status_code == 401


# --- CSRF ---


def test_a_post_without_the_csrf_token_is_400_and_with_a_wrong_one_403(operator, system):
    assert operator.post("/api/rig/1/plug", json={}).status_code == 400
    response = operator.post("/api/rig/1/plug", json={}, headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    assert system.rig.calls == []
    response = operator.post("/api/rig/1/plug", json={}, headers={"X-CSRF-Token": operator.csrf})
    assert response.status_code == 200
    assert system.rig.calls == [("plug", 1)]


def test_the_token_of_another_session_does_not_work(app, operator, helpers, system):
    other = app.test_client()
    other_token = helpers.login(other, "olga")
    assert other_token != operator.csrf
    response = operator.post("/api/faults/link_cut", headers={"X-CSRF-Token": other_token})
    assert response.status_code == 403
    assert system.proxy.up


def test_a_form_field_carries_the_token_too(operator, system):
    response = operator.post("/api/rig/2/unplug", data={"csrf_token": operator.csrf})
    assert response.status_code == 200
    assert system.rig.calls == [("unplug", 2)]


# --- rig and faults ---


def test_rig_actions_and_faults_reach_the_bench(operator, system, helpers):
    h = {"X-CSRF-Token": operator.csrf}
    assert operator.post("/api/rig/1/ev-stop", headers=h).status_code == 200
    assert operator.post("/api/rig/tag", json={"uid": "0a00b1c2d3"}, headers=h).status_code == 200
    helpers.wait_for(lambda: ("remove_tag",) in system.rig.calls, what="the tag is taken away")
    assert ("present_tag", "0a00b1c2d3") in system.rig.calls
    assert operator.post("/api/rig/tag", json={"uid": "xyz"}, headers=h).status_code == 400
    assert operator.post("/api/rig/9/plug", headers=h).status_code == 404
    assert operator.post("/api/faults/link_cut", headers=h).get_json()["ok"]
    assert not system.proxy.up
    operator.post("/api/faults/link_restore", headers=h)
    assert system.proxy.up
    response = operator.post(
        "/api/faults/meter", json={"connector": 2, "fault": "timeout"}, headers=h
    )
    assert response.status_code == 200 and system.rig.meters[2].fault == "timeout"
    bad = operator.post("/api/faults/meter", json={"connector": 2, "fault": "fire"}, headers=h)
    assert bad.status_code == 400
    for kind in ("power_loss", "power_restore", "csms_stop", "csms_start", "agent_kill"):
        assert operator.post(f"/api/faults/{kind}", headers=h).status_code == 200, kind
    assert system.events == [
        "power_loss",
        "power_restore",
        "stop_csms",
        "start_csms",
        "kill_agent",
    ]
    assert operator.post("/api/faults/csms_start", headers=h).status_code == 409  # running
    assert operator.post("/api/faults/meltdown", headers=h).status_code == 400
    activity = operator.get("/api/snapshot").get_json()["activity"]
    assert any(a["user"] == "olga" and "cut the link" in a["text"] for a in activity)


def test_a_real_rig_is_not_plugged_from_the_panel(operator, system):
    system.hardware = object()
    response = operator.post("/api/rig/1/plug", headers={"X-CSRF-Token": operator.csrf})
    assert response.status_code == 409
    assert system.rig.calls == []


# --- OCPP operations ---


def test_operations_come_with_their_schema(operator):
    ops = operator.get("/api/operations").get_json()
    assert {"RemoteStartTransaction", "SetChargingProfile", "GetCompositeSchedule"} <= set(ops)
    assert "BootNotification" not in ops  # the charge point sends that one
    schema = operator.get("/api/operations/SetChargingProfile/schema").get_json()
    assert schema["required"] == ["connectorId", "csChargingProfiles"]
    assert "chargingSchedule" in schema["properties"]["csChargingProfiles"]["properties"]
    assert operator.get("/api/operations/BootNotification/schema").status_code == 404


def test_an_operation_payload_is_validated_against_the_schema(operator, system):
    h = {"X-CSRF-Token": operator.csrf}
    response = operator.post("/api/operations/Reset", json={"type": "Medium"}, headers=h)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["path"] == "type"
    response = operator.post("/api/operations/Reset", json={}, headers=h)
    assert response.status_code == 400
    assert "'type' is a required property" in response.get_json()["errors"][0]["message"]
    response = operator.post(
        "/api/operations/ReserveNow",
        json={"connectorId": 1, "expiryDate": "tomorrow", "idTag": "T", "reservationId": 1},
        headers=h,
    )
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["path"] == "expiryDate"
    response = operator.post(
        "/api/operations/ChangeConfiguration",
        json={"key": "K", "value": "v", "extra": 1},
        headers=h,
    )
    assert response.status_code == 400
    assert operator.post("/api/operations/Heartbeat", json={}, headers=h).status_code == 404
    assert system.csms.sent == []


def test_a_valid_operation_goes_out_through_the_csms(operator, system):
    h = {"X-CSRF-Token": operator.csrf}
    response = operator.post("/api/operations/Reset", json={"type": "Soft"}, headers=h)
    assert response.status_code == 200
    assert response.get_json() == {"result": {"status": "Accepted"}}
    assert system.csms.sent == [call.Reset(type="Soft")]
    profile = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 7,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
            },
        },
    }
    response = operator.post("/api/operations/SetChargingProfile", json=profile, headers=h)
    assert response.status_code == 200  # 21.4 is a multiple of 0.1 on the wire
    sent = system.csms.sent[-1]
    assert isinstance(sent, call.SetChargingProfile)
    assert sent.connector_id == 1 and sent.cs_charging_profiles == profile["csChargingProfiles"]


def test_a_callerror_and_a_stopped_csms_are_reported(operator, system, bench_api):
    from charger.protocol.errors import CallErrorReceived

    async def refuse(cp_id, payload):
        raise CallErrorReceived("Reset", "NotSupported", "no", {})

    system.csms.call = refuse
    h = {"X-CSRF-Token": operator.csrf}
    answer = operator.post("/api/operations/Reset", json={"type": "Hard"}, headers=h).get_json()
    assert answer["callerror"]["errorCode"] == "NotSupported"
    operator.post("/api/faults/csms_stop", headers=h)
    response = operator.post("/api/operations/Reset", json={"type": "Hard"}, headers=h)
    assert response.status_code == 409


# --- trace ---


def _frames(system):  # type: ignore[no-untyped-def]
    system.frame("dut", 2, "a1", "StatusNotification", connectorId=1, status="Preparing")
    system.frame("bench", 3, "a1", "StatusNotification")
    system.frame("bench", 2, "b1", "RemoteStartTransaction", connectorId=2, idTag="0A00E4F5A6")
    system.frame("dut", 3, "b1", None, status="Accepted")
    system.frame("dut", 2, "a2", "StartTransaction", connectorId=2, idTag="0A00E4F5A6")
    system.frame("bench", 3, "a2", "StartTransaction", transactionId=5)
    system.frame("dut", 2, "a3", "MeterValues", connectorId=2, transactionId=5)
    system.frame("bench", 2, "b2", "RemoteStopTransaction", transactionId=5)


def test_the_trace_knows_each_frames_action_and_connector(operator, system, bench_api, helpers):
    _frames(system)
    helpers.wait_for(lambda: bench_api.trace_length() == 8, what="frames sampled")
    frames = operator.get("/api/trace").get_json()["frames"]
    assert [f["action"] for f in frames] == [
        "StatusNotification",
        "StatusNotification",
        "RemoteStartTransaction",
        "RemoteStartTransaction",  # the answer's action comes from its CALL
        "StartTransaction",
        "StartTransaction",
        "MeterValues",
        "RemoteStopTransaction",
    ]
    assert [f["connector"] for f in frames] == [1, 1, 2, 2, 2, 2, 2, 2]
    only = operator.get("/api/trace?action=StartTransaction&connector=2").get_json()["frames"]
    assert [f["index"] for f in only] == [4, 5]
    assert operator.get("/api/trace?since=6").get_json()["frames"][0]["index"] == 6
    snapshot = operator.get("/api/snapshot").get_json()
    assert snapshot["connectors"]["1"]["status"] == "Preparing"


def test_the_trace_downloads_as_json_lines(operator, system, bench_api, helpers):
    _frames(system)
    helpers.wait_for(lambda: bench_api.trace_length() == 8, what="frames sampled")
    response = operator.get("/api/trace.jsonl")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert len(lines) == 8
    frames = [json.loads(line) for line in lines]
    assert frames[0]["sender"] == "dut" and frames[0]["payload"]["status"] == "Preparing"
    assert {"index", "ts", "sender", "message_type", "unique_id", "action", "connector"} <= set(
        frames[0]
    )
    filtered = operator.get("/api/trace.jsonl?action=MeterValues").get_data(as_text=True)
    assert [json.loads(line)["action"] for line in filtered.splitlines()] == ["MeterValues"]


# --- scenarios and runs ---


def test_the_catalogue_filters_by_role_profile_and_applicability(operator):
    cases = operator.get("/api/cases").get_json()
    assert {c["id"] for c in cases} == {"quick-a", "quick-b", "needs-pics", "slow", "csms-case"}
    core_cs = operator.get("/api/cases?role=cs&profile=core").get_json()
    assert [c["id"] for c in core_cs] == ["quick-b", "needs-pics"]
    na = operator.get("/api/cases?applicability=na").get_json()
    assert [c["id"] for c in na] == ["needs-pics"]
    assert na[0]["missing"] == ["NO_SUCH_ITEM"] and na[0]["pics"] == "agent"
    ok = operator.get("/api/cases?role=csms&pics=csms&applicability=applicable").get_json()
    assert [c["id"] for c in ok] == ["csms-case"]
    assert operator.get("/api/cases?pics=bogus").status_code == 400


def test_the_real_catalogue_lists_the_sessions(system, loop, tmp_path):
    api = BenchApi(system, loop, tmp_path)
    cases = {c["id"]: c for c in api.list_cases(profile="bench")}
    assert "local-rfid-session" in cases and cases["local-rfid-session"]["applicable"]


def _wait_run(operator, run_id, helpers):  # type: ignore[no-untyped-def]
    return helpers.wait_for(
        lambda: (r := operator.get(f"/api/runs/{run_id}").get_json())["status"] != "running" and r,
        what=f"run {run_id} finishes",
    )


def test_a_run_reports_progress_and_its_report_is_one_click_away(operator, viewer, helpers):
    h = {"X-CSRF-Token": operator.csrf}
    response = operator.post("/api/runs", json={"cases": ["quick-a", "quick-b"]}, headers=h)
    assert response.status_code == 202
    run = response.get_json()
    assert run["started_by"] == "olga" and run["total"] == 2
    done = _wait_run(operator, run["id"], helpers)
    assert done["status"] == "passed"
    assert [c["state"] for c in done["cases"]] == ["pass", "pass"]
    assert done["cases"][0]["steps"][0]["text"] == "quick case: nothing to do"
    assert done["report"]
    # visible to everyone, the report too
    assert viewer.get("/api/runs").get_json()[0]["id"] == run["id"]
    report = viewer.get(f"/runs/{run['id']}/report/")
    assert report.status_code == 200 and b"quick-a" in report.data
    assert viewer.get(f"/runs/{run['id']}/report/results.json").status_code == 200
    assert viewer.get(f"/runs/{run['id']}/report/run.json").status_code == 404
    assert viewer.get("/runs/../report/").status_code == 404
    page = viewer.get(f"/runs/{run['id']}").get_data(as_text=True)
    assert run["id"] in page


def test_a_profile_or_a_saved_selection_can_be_run(operator, helpers):
    h = {"X-CSRF-Token": operator.csrf}
    run = operator.post("/api/runs", json={"profile": "core", "role": "cs"}, headers=h).get_json()
    done = _wait_run(operator, run["id"], helpers)
    assert [c["id"] for c in done["cases"]] == ["quick-b", "needs-pics"]
    assert done["label"] == "profile core (cs)"
    saved = operator.post(
        "/api/selections", json={"name": "smoke", "cases": ["quick-b", "quick-a"]}, headers=h
    )
    assert saved.status_code == 200 and saved.get_json()["smoke"]["saved_by"] == "olga"
    run = operator.post("/api/runs", json={"selection": "smoke"}, headers=h).get_json()
    done = _wait_run(operator, run["id"], helpers)
    assert [c["id"] for c in done["cases"]] == ["quick-b", "quick-a"]
    bad = operator.post("/api/runs", json={"cases": ["quick-a", "csms-case"]}, headers=h)
    assert bad.status_code == 400  # one device per run
    assert operator.post("/api/runs", json={"cases": ["nope"]}, headers=h).status_code == 404
    assert operator.post("/api/runs", json={}, headers=h).status_code == 400


def test_one_run_at_a_time_and_a_run_can_be_stopped(operator, viewer, helpers, bench_api):
    h = {"X-CSRF-Token": operator.csrf}
    run = operator.post("/api/runs", json={"cases": ["slow", "quick-a"]}, headers=h).get_json()
    live = helpers.wait_for(
        lambda: (r := operator.get(f"/api/runs/{run['id']}").get_json())["cases"][0]["steps"] and r,
        what="the slow case's first step shows while it runs",
    )
    assert live["cases"][0]["state"] == "running"
    assert live["cases"][0]["steps"][0]["text"] == "slow case: waiting"
    busy = operator.post("/api/runs", json={"cases": ["quick-a"]}, headers=h)
    assert busy.status_code == 409 and "olga" in busy.get_json()["error"]
    assert (
        viewer.post(
            f"/api/runs/{run['id']}/stop", headers={"X-CSRF-Token": viewer.csrf}
        ).status_code
        == 403
    )
    assert operator.post(f"/api/runs/{run['id']}/stop", headers=h).status_code == 200
    done = _wait_run(operator, run["id"], helpers)
    assert done["status"] == "stopped" and done["stopped_by"] == "olga"
    assert [c["state"] for c in done["cases"]] == ["stopped", "skipped"]
    assert done["report"]  # the stopped case is in the report as an error
    with pytest.raises(RunBusy):
        bench_api.start_run(["slow"], user="x")
        bench_api.start_run(["quick-a"], user="y")


def test_past_runs_survive_a_restart_of_the_panel(operator, helpers, system, loop, tmp_path):
    h = {"X-CSRF-Token": operator.csrf}
    run = operator.post("/api/runs", json={"cases": ["quick-a"]}, headers=h).get_json()
    _wait_run(operator, run["id"], helpers)
    again = BenchApi(system, loop, tmp_path, catalogue=helpers.fake_catalogue)
    assert again.runs()[0]["id"] == run["id"]
    assert again.runs()[0]["status"] == "passed"
    assert again.report_file(run["id"]) is not None


# --- the rig's live values ---


def test_the_snapshot_and_history_follow_the_rig(operator, system, helpers):
    h = {"X-CSRF-Token": operator.csrf}
    operator.post("/api/rig/1/plug", headers=h)
    system.rig.power_w[1] = 50_000
    snap = helpers.wait_for(
        lambda: (s := operator.get("/api/snapshot").get_json())["connectors"]["1"]["power_w"] and s,
        what="power shows",
    )
    c1 = snap["connectors"]["1"]
    assert c1["plugged"] and c1["contactors"] and c1["voltage_v"] == 400.0
    assert snap["cp_connected"] and snap["csms_up"] and snap["link_up"]
    assert snap["agent_running"] and snap["agent_pid"] == 4242
    history = helpers.wait_for(
        lambda: (x := operator.get("/api/history").get_json()).get("1", {}).get("points") and x,
        what="chart points",
    )
    assert history["1"]["points"][-1]["power_w"] == 50_000
    assert history.get("2", {"points": []})["points"] == []  # nothing plugged there


def test_the_composite_schedule_comes_from_the_chargers_answer(
    operator, system, bench_api, helpers
):
    assert operator.get("/api/snapshot").get_json().get("schedules", {}) == {}
    system.frame("bench", 2, "s1", "GetCompositeSchedule", connectorId=1, duration=600)
    system.frame(
        "dut",
        3,
        "s1",
        "GetCompositeSchedule",
        status="Accepted",
        connectorId=1,
        scheduleStart="2025-01-01T00:00:00Z",
        chargingSchedule={
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32}],
        },
    )
    snap = helpers.wait_for(
        lambda: (s := operator.get("/api/snapshot").get_json())["schedules"] and s,
        what="schedule",
    )
    assert snap["schedules"]["1"]["charging_schedule"]["chargingRateUnit"] == "A"


def test_security_headers(operator):
    response = operator.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_long_trace_keeps_its_indexes_when_the_oldest_frames_go(
    operator, system, bench_api, helpers, monkeypatch
):
    monkeypatch.setattr("web.live_state.TRACE_KEEP", 20)
    for i in range(25):
        system.frame("dut", 2, f"h{i}", "Heartbeat")
    helpers.wait_for(lambda: bench_api.trace_length() == 25, what="frames sampled")
    frames = operator.get("/api/trace").get_json()
    assert frames["next"] == 25
    kept = [f["index"] for f in frames["frames"]]
    assert 0 < kept[0] and kept == list(range(kept[0], 25)) and len(kept) <= 20
    since = operator.get("/api/trace?since=23").get_json()["frames"]
    assert [f["index"] for f in since] == [23, 24]
    last = operator.get("/api/trace?limit=1").get_json()["frames"]
    assert [f["index"] for f in last] == [24]


def test_the_schedule_in_force_comes_from_the_csms_when_it_has_one(
    operator, system, bench_api, helpers
):
    helpers.wait_for(lambda: operator.get("/api/snapshot").get_json().get("connectors"))
    assert operator.get("/api/snapshot").get_json()["composite"] == {}  # no profiles: none
    asked = []

    def predict_composite(cp_id, connector_id, duration):  # type: ignore[no-untyped-def]
        asked.append((cp_id, connector_id, duration))
        periods = [{"startPeriod": 0, "limit": 16.0}] if connector_id == 2 else []
        return {
            "startSchedule": "2025-01-01T00:00:00.000Z",
            "duration": duration,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": periods,
        }

    system.predict = predict_composite
    system.frame("bench", 2, "p1", "SetChargingProfile", connectorId=2)
    snap = helpers.wait_for(
        lambda: (s := operator.get("/api/snapshot").get_json())["composite"] and s,
        what="the CSMS's schedule",
    )
    assert set(snap["composite"]) == {"2"}  # connector 1 has no profile: no schedule
    schedule = snap["composite"]["2"]["charging_schedule"]
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0}]
    assert ("BENCH-CP-001", 1, 86400) in asked


def test_a_run_never_holds_up_the_live_bench(bench_api, system, loop, helpers):
    """A case's set-up blocks (key generation, password hashing): on its own loop, so
    the live bench's loop goes on serving the rig while it does."""
    released = threading.Event()
    seen: dict[str, Any] = {}

    async def blocking_runner(cases, options, on_progress):  # type: ignore[no-untyped-def]
        seen["loop"] = asyncio.get_running_loop()
        on_progress(1, len(cases), cases[0], None)
        released.wait(20)  # holds this loop's thread, as blocking set-up does
        return []

    bench_api.run_manager.runner = blocking_runner
    bench_api.start_run(["quick-a"], user="olga")
    helpers.wait_for(lambda: "loop" in seen, what="the run to begin")
    try:
        bench_api.plug(1, user="olga")  # answered by the live bench's loop meanwhile
        assert system.rig.plugged[1]
        assert seen["loop"] is not loop
    finally:
        released.set()
    helpers.wait_for(lambda: bench_api.active_run() is None, what="the run to end")


def test_the_download_reads_the_trace_files_for_what_memory_dropped(
    operator, system, bench_api, helpers, monkeypatch, tmp_path
):
    from bench.csms.frame_log import FrameFile, FrameRing

    monkeypatch.setattr("web.live_state.TRACE_KEEP", 20)
    system.trace = FrameRing(keep=10, file=FrameFile(tmp_path, "ocpp-trace"))  # as BenchSystem
    for i in range(25):
        system.frame("dut", 2, f"h{i}", "Heartbeat")
    helpers.wait_for(lambda: bench_api.trace_length() == 25, what="frames sampled")
    assert operator.get("/api/trace").get_json()["frames"][0]["index"] > 0  # memory dropped
    lines = operator.get("/api/trace.jsonl").get_data(as_text=True).splitlines()
    frames = [json.loads(line) for line in lines]
    assert [f["index"] for f in frames] == list(range(25))
    assert [f["unique_id"] for f in frames] == [f"h{i}" for i in range(25)]
    later = operator.get("/api/trace.jsonl?since=3").get_data(as_text=True).splitlines()
    assert json.loads(later[0])["index"] == 3 and len(later) == 22
