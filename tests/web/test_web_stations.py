"""Many charge points at one CSMS: the panel keeps them apart and lets each be chosen."""

from __future__ import annotations

from ocpp.v16 import call


def _two_stations(system):  # type: ignore[no-untyped-def]
    """The bench's own charge point and an external one report the same connector ids."""
    for cp, status in ((system.cp_id, "Preparing"), ("ACME-7", "Faulted")):
        system.frame("dut", 2, f"s-{cp}", "StatusNotification", connectorId=1, status=status)
        system.trace[-1]["cp_id"] = cp
        system.frame("bench", 3, f"s-{cp}", "StatusNotification")
        system.trace[-1]["cp_id"] = cp
    system.frame("dut", 2, "s-3", "StatusNotification", connectorId=3, status="Available")
    system.trace[-1]["cp_id"] = "ACME-7"
    system.connected = [system.cp_id, "ACME-7"]


def test_statuses_stay_with_their_charge_point_and_every_one_is_listed(
    operator, system, bench_api, helpers
):
    _two_stations(system)
    helpers.wait_for(lambda: bench_api.trace_length() == 5, what="frames sampled")
    snapshot = operator.get("/api/snapshot").get_json()
    assert snapshot["connectors"]["1"]["status"] == "Preparing"  # not ACME-7's Faulted
    stations = snapshot["charge_points"]
    assert list(stations) == [system.cp_id, "ACME-7"]
    assert stations[system.cp_id]["own"] and not stations["ACME-7"]["own"]
    assert stations["ACME-7"]["connected"]
    assert {c: s["status"] for c, s in stations["ACME-7"]["connectors"].items()} == {
        "1": "Faulted",
        "3": "Available",
    }
    assert list(stations[system.cp_id]["connectors"]) == ["1", "2"]  # the rig's, reported or not


def test_the_trace_filters_by_charge_point(operator, system, bench_api, helpers):
    _two_stations(system)
    helpers.wait_for(lambda: bench_api.trace_length() == 5, what="frames sampled")
    frames = operator.get("/api/trace?cp=ACME-7").get_json()["frames"]
    assert [f["index"] for f in frames] == [2, 3, 4]
    assert {f["cp_id"] for f in frames} == {"ACME-7"}
    both = operator.get("/api/trace").get_json()["frames"]
    assert [f["cp_id"] for f in both] == [system.cp_id] * 2 + ["ACME-7"] * 3


def test_an_operation_goes_to_the_charge_point_chosen(operator, system):
    sent_to: list[str] = []
    answer_of = system.csms.call

    async def call_of(cp_id, payload):  # type: ignore[no-untyped-def]
        sent_to.append(cp_id)
        return await answer_of(cp_id, payload)

    system.csms.call = call_of
    h = {"X-CSRF-Token": operator.csrf}
    response = operator.post("/api/operations/Reset?cp=ACME-7", json={"type": "Soft"}, headers=h)
    assert response.status_code == 200
    operator.post("/api/operations/Reset", json={"type": "Soft"}, headers=h)
    assert sent_to == ["ACME-7", system.cp_id]
    assert system.csms.sent == [call.Reset(type="Soft")] * 2


def test_the_control_page_lists_connectors_from_the_bench_not_a_fixed_pair(operator):
    page = operator.get("/control").get_data(as_text=True)
    assert 'id="op-cp"' in page and "data-connectors" in page
    assert "<option>2</option>" not in page
