"""A hand-made run whose timings are known exactly (binary-exact fractions of a second)."""

from __future__ import annotations

from typing import Any

T0 = 1763773200.0  # 2025-11-22 01:00:00 UTC


def frame(
    t: float, sender: str, kind: int, uid: str, action: str | None = None, **payload: Any
) -> dict[str, Any]:
    return {
        "ts": T0 + t,
        "sender": sender,
        "message_type": kind,
        "unique_id": uid,
        "action": action,
        "payload": payload,
    }


def cs_trace() -> list[dict[str, Any]]:
    """Responses 0.25/0.5/0.75/0.125; RemoteStart 1.5; RemoteStop 2.0; Trigger 0.375."""
    return [
        frame(0.0, "dut", 2, "d1", "StatusNotification", connectorId=1, status="Preparing"),
        frame(0.05, "bench", 3, "d1", "StatusNotification"),
        frame(1.0, "bench", 2, "b1", "RemoteStartTransaction", connectorId=1, idTag="TAG1"),
        frame(1.25, "dut", 3, "b1", None, status="Accepted"),
        frame(2.5, "dut", 2, "d2", "StartTransaction", connectorId=1, idTag="TAG1"),
        frame(2.625, "bench", 3, "d2", "StartTransaction", transactionId=7),
        frame(10.0, "bench", 2, "b2", "RemoteStopTransaction", transactionId=7),
        frame(10.5, "dut", 3, "b2", "RemoteStopTransaction", status="Accepted"),
        frame(12.0, "dut", 2, "d3", "StopTransaction", transactionId=7),
        frame(12.125, "bench", 3, "d3", "StopTransaction"),
        # rejected: the StartTransaction that follows is not the RemoteStart's doing
        frame(20.0, "bench", 2, "b3", "RemoteStartTransaction", connectorId=1, idTag="TAG2"),
        frame(20.75, "dut", 3, "b3", None, status="Rejected"),
        frame(21.0, "dut", 2, "d4", "StartTransaction", connectorId=1, idTag="TAG2"),
        frame(
            30.0,
            "bench",
            2,
            "b4",
            "TriggerMessage",
            requestedMessage="StatusNotification",
            connectorId=1,
        ),
        frame(30.125, "dut", 3, "b4", None, status="Accepted"),
        frame(30.375, "dut", 2, "d5", "StatusNotification", connectorId=1, status="Charging"),
        frame(40.0, "bench", 2, "b5", "GetConfiguration"),  # never answered
    ]


def csms_trace() -> list[dict[str, Any]]:
    """Authorize answered after 0.5 and 0.25 s; BootNotification after 0.125 s."""
    return [
        frame(
            0.0, "bench", 2, "c1", "BootNotification", chargePointVendor="V", chargePointModel="M"
        ),
        frame(0.125, "dut", 3, "c1", None, status="Accepted", interval=300),
        frame(1.0, "bench", 2, "c2", "Authorize", idTag="TAG1"),
        frame(1.5, "dut", 3, "c2", None, idTagInfo={"status": "Accepted"}),
        frame(2.0, "bench", 2, "c3", "Authorize", idTag="BAD"),
        frame(2.25, "dut", 3, "c3", "Authorize", idTagInfo={"status": "Invalid"}),
    ]


def case(
    cid: str, verdict: str = "pass", role: str = "cs", profile: str = "core", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": cid,
        "title": f"Title of {cid}",
        "role": role,
        "profile": profile,
        "verdict": verdict,
        "duration_s": 1.5,
        "details": {"message": f"why {cid}"} if verdict != "pass" else {},
        "steps": [{"t": 0.125, "text": "plug EV into connector 1"}],
        "trace": [],
        "samples": {},
    }
    out.update(extra)
    return out


def make_run() -> dict[str, Any]:
    samples = {
        "1": [
            {
                "t": T0 + 5 + i,
                "power_w": 1000.0 * i,
                "current_a": 10.0 * i,
                "voltage_v": 340.0,
                "soc": 20.0 + i,
            }
            for i in range(10)
        ],
        "2": [
            {
                "t": T0 + 6 + i,
                "power_w": 500.0 * i,
                "current_a": 5.0 * i,
                "voltage_v": 400.0,
                "soc": 50.0,
            }
            for i in range(5)
        ],
    }
    return {
        "run": {
            "started": "2025-11-22T01:00:00.000Z",
            "finished": "2025-11-22T01:02:03.400Z",
            "wall_s": 123.4,
            "command": "bench run --role cs --profile core --report out",
            "dut": {
                "role": "cs",
                "kind": "local",
                "name": "BENCH-DC-2 0.1.0",
                "url": "ws://127.0.0.1:9000/CP1",
                "pics": "agent",
            },
        },
        "cases": [
            case("TC_003_CS", trace=cs_trace(), samples=samples),
            case("TC_012_CS", "fail", steps=[{"t": 1.0, "text": "send RemoteStop"}]),
            case("TC_044_1_CS", "n/a", profile="firmware"),
            case("TC_054_CS", "error", profile="trigger"),
        ],
    }
