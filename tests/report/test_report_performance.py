from __future__ import annotations

from typing import Any

from report_fixtures import case, cs_trace, csms_trace, frame

from bench.report.performance import NOT_TRIGGERED, TRIGGERS, measure


def rows(cases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in measure(cases)["rows"]}


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["min_s"], row["max_s"], row["avg_s"], row["count"])


def test_exact_figures_from_a_hand_made_cs_trace() -> None:
    got = rows([case("TC_1", trace=cs_trace())])
    # bench CALLs answered by the DUT: 0.25, 0.5, 0.75 (Rejected counts too), 0.125
    assert figures(got["response"]) == (0.13, 0.75, 0.41, 4)
    # RemoteStart 1.5, RemoteStop 2.0, TriggerMessage 0.375
    assert figures(got["triggered"]) == (0.38, 2.0, 1.29, 3)
    assert figures(got["remote_start"]) == (1.5, 1.5, 1.5, 1)
    assert figures(got["remote_stop"]) == (2.0, 2.0, 2.0, 1)
    assert got["authorize"]["status"] == "not measured"
    assert got["authorize"]["count"] == 0 and got["authorize"]["max_s"] is None
    assert all(got[k]["status"] == "ok" for k in ("response", "triggered"))


def test_limits_are_the_seed_pics_values() -> None:
    got = rows([])
    assert [got[k]["limit_s"] for k in got] == [10, 30, 10, 10, 10]
    assert all(r["status"] == "not measured" for r in got.values())


def test_unanswered_calls_are_listed_not_measured() -> None:
    result = measure([case("TC_1", trace=cs_trace())])
    assert result["unanswered"] == [
        {"case": "TC_1", "action": "GetConfiguration", "unique_id": "b5"}
    ]


def test_only_accepted_remote_start_is_counted() -> None:
    trace = [
        frame(0, "bench", 2, "b1", "RemoteStartTransaction", connectorId=1, idTag="A"),
        frame(0.25, "dut", 3, "b1", None, status="Rejected"),
        frame(1, "dut", 2, "d1", "StartTransaction", connectorId=1, idTag="A"),
        frame(5, "bench", 2, "b2", "RemoteStartTransaction", connectorId=1, idTag="A"),
        frame(5.5, "dut", 4, "b2", None, errorCode="InternalError"),
        frame(6, "dut", 2, "d2", "StartTransaction", connectorId=1, idTag="A"),
    ]
    got = rows([case("TC_1", trace=trace)])
    assert got["remote_start"]["status"] == "not measured"
    assert got["triggered"]["status"] == "not measured"
    assert got["response"]["count"] == 2  # a CALLERROR is an answer too


def test_remote_start_waiting_for_the_cable_is_not_immediate() -> None:
    trace = [
        frame(0, "dut", 2, "d0", "StatusNotification", connectorId=1, status="Available"),
        frame(1, "bench", 2, "b1", "RemoteStartTransaction", connectorId=1, idTag="A"),
        frame(1.25, "dut", 3, "b1", None, status="Accepted"),
        frame(1.5, "dut", 2, "d1", "StatusNotification", connectorId=1, status="Preparing"),
        frame(40, "dut", 2, "d2", "StartTransaction", connectorId=1, idTag="A"),
    ]
    assert rows([case("TC_011_1_CS", trace=trace)])["remote_start"]["count"] == 0


def test_remote_start_matches_its_own_id_tag_and_connector() -> None:
    trace = [
        frame(0, "bench", 2, "b1", "RemoteStartTransaction", connectorId=2, idTag="A"),
        frame(0.25, "dut", 3, "b1", None, status="Accepted"),
        frame(1, "dut", 2, "d1", "StartTransaction", connectorId=1, idTag="A"),
        frame(2, "dut", 2, "d2", "StartTransaction", connectorId=2, idTag="B"),
        frame(3, "dut", 2, "d3", "StartTransaction", connectorId=2, idTag="A"),
    ]
    assert figures(rows([case("T", trace=trace)])["remote_start"]) == (3.0, 3.0, 3.0, 1)


def test_remote_stop_matches_the_transaction() -> None:
    trace = [
        frame(0, "bench", 2, "b1", "RemoteStopTransaction", transactionId=5),
        frame(0.25, "dut", 3, "b1", None, status="Accepted"),
        frame(1, "dut", 2, "d1", "StopTransaction", transactionId=4),
        frame(2.5, "dut", 2, "d2", "StopTransaction", transactionId=5),
    ]
    assert figures(rows([case("T", trace=trace)])["remote_stop"]) == (2.5, 2.5, 2.5, 1)


def test_triggered_mapping_table() -> None:
    assert {t.request for t in TRIGGERS} == {
        "TriggerMessage",
        "ExtendedTriggerMessage",
        "ChangeAvailability",
        "UnlockConnector",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
    }
    assert {"Reset", "UpdateFirmware", "GetDiagnostics", "ChangeConfiguration"} <= set(
        NOT_TRIGGERED
    )
    assert not set(NOT_TRIGGERED) & {t.request for t in TRIGGERS}


def test_triggered_functions_each_kind() -> None:
    trace = [
        frame(0, "dut", 2, "s1", "StatusNotification", connectorId=1, status="Available"),
        frame(0, "dut", 2, "s2", "StatusNotification", connectorId=2, status="Charging"),
        # ChangeAvailability Inoperative -> Unavailable: 1.0 s
        frame(10, "bench", 2, "b1", "ChangeAvailability", connectorId=1, type="Inoperative"),
        frame(10.25, "dut", 3, "b1", None, status="Accepted"),
        frame(11, "dut", 2, "s3", "StatusNotification", connectorId=1, status="Unavailable"),
        # ChangeAvailability Scheduled: nothing is due now
        frame(20, "bench", 2, "b2", "ChangeAvailability", connectorId=2, type="Inoperative"),
        frame(20.25, "dut", 3, "b2", None, status="Scheduled"),
        # UnlockConnector during a session -> the session's status changes: 2.0 s
        frame(30, "bench", 2, "b3", "UnlockConnector", connectorId=2),
        frame(30.25, "dut", 3, "b3", None, status="Unlocked"),
        frame(32, "dut", 2, "s4", "StatusNotification", connectorId=2, status="Finishing"),
        # ExtendedTriggerMessage SignChargePointCertificate -> SignCertificate: 0.5 s
        frame(
            40,
            "bench",
            2,
            "b4",
            "ExtendedTriggerMessage",
            requestedMessage="SignChargePointCertificate",
        ),
        frame(40.25, "dut", 3, "b4", None, status="Accepted"),
        frame(40.5, "dut", 2, "x1", "SignCertificate", csr="..."),
        # excluded: Reset -> BootNotification, ChangeConfiguration -> MeterValues
        frame(50, "bench", 2, "b5", "Reset", type="Soft"),
        frame(50.25, "dut", 3, "b5", None, status="Accepted"),
        frame(55, "dut", 2, "x2", "BootNotification", chargePointVendor="V"),
        frame(
            60, "bench", 2, "b6", "ChangeConfiguration", key="MeterValueSampleInterval", value="5"
        ),
        frame(60.25, "dut", 3, "b6", None, status="Accepted"),
        frame(61, "dut", 2, "x3", "MeterValues", connectorId=1, meterValue=[]),
        # Unlock without a session: no status change due, a later one is not credited
        frame(70, "bench", 2, "b7", "UnlockConnector", connectorId=1),
        frame(70.25, "dut", 3, "b7", None, status="Unlocked"),
        frame(90, "dut", 2, "s5", "StatusNotification", connectorId=1, status="Available"),
    ]
    result = rows([case("T", trace=trace)])["triggered"]
    assert sorted(s["s"] for s in result["samples"]) == [0.5, 1.0, 2.0]
    assert result["worst"]["action"] == "UnlockConnector → StatusNotification"


def test_csms_rows_authorize_and_response() -> None:
    got = rows([case("TC_023_1_CSMS", role="csms", trace=csms_trace())])
    assert figures(got["authorize"]) == (0.25, 0.5, 0.38, 2)
    assert figures(got["response"]) == (0.13, 0.5, 0.29, 3)
    assert got["triggered"]["status"] == "not measured"


def test_authorize_row_ignores_cs_cases() -> None:
    got = rows([case("TC_1", role="cs", trace=csms_trace())])
    assert got["authorize"]["count"] == 0
    assert got["response"]["count"] == 3


def test_a_max_above_the_limit_is_flagged() -> None:
    trace = [
        frame(0, "bench", 2, "b1", "GetConfiguration"),
        frame(12.5, "dut", 3, "b1", None, configurationKey=[]),
        frame(20, "bench", 2, "b2", "ClearCache"),
        frame(20.5, "dut", 3, "b2", None, status="Accepted"),
    ]
    result = measure([case("TC_019_CS", trace=trace)])
    response = result["rows"][0]
    assert response["status"] == "exceeded"
    assert response["worst"] == {
        "case": "TC_019_CS",
        "action": "GetConfiguration",
        "unique_id": "b1",
        "s": 12.5,
    }
    assert result["exceeded"] == ["OCPP response time"]


def test_garbage_frames_do_not_break_measurement() -> None:
    trace = [
        {"ts": None, "sender": "dut", "message_type": 0, "unique_id": "", "payload": {"raw": "x"}},
        "not a frame",
        frame(0, "bench", 2, "b1", "Heartbeat"),
        {"sender": "dut", "message_type": 3, "unique_id": "b1", "payload": None},
    ]
    assert rows([case("T", trace=trace)])["response"]["status"] == "not measured"


def test_timings_are_wall_clock_seconds_at_any_clock_speed() -> None:
    # at speed 4, 0.25 s on the wall clock read 1.0 simulated second
    trace = [
        {**frame(0, "bench", 2, "b1", "GetConfiguration"), "wall": 1000.0},
        {**frame(1.0, "dut", 3, "b1", None, configurationKey=[]), "wall": 1000.25},
    ]
    got = rows([case("TC_1", trace=trace)])
    assert figures(got["response"]) == (0.25, 0.25, 0.25, 1)
