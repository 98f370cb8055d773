"""Remote Trigger: TC_054, TC_055."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import connectors, idle
from bench.scenarios.cs_optional.steps import request
from bench.scenarios.handle import Handle, ScenarioFailed
from bench.scenarios.registry import scenario

PROFILE = "profile.trigger"
SENT_WITHIN = 10.0


def _triggered(values: Any) -> bool:
    """Every sampled value of a triggered MeterValues has context Trigger (§7.36)."""
    samples = [s for mv in values or [] for s in mv.get("sampledValue") or []]
    return bool(samples) and all(s.get("context") == "Trigger" for s in samples)


def expected(t: Handle, message: str, connector: int | None) -> list[dict[str, Any]]:
    """What the charger must send for a TriggerMessage: one message per relevant
    connector; "connectorId relevant but absent" means every allowed connectorId (§5.17),
    which for StatusNotification includes 0 (the charge point) and for MeterValues the
    connectors (0, a main meter, is optional). Where connectorId is not relevant it is
    ignored and the message still sent."""
    if message == "StatusNotification":
        ids = [connector] if connector is not None else [0, *connectors(t)]
        return [{"connectorId": c} for c in ids]
    if message == "MeterValues":
        ids = [connector] if connector is not None else connectors(t)
        return [{"connectorId": c, "meterValue": _triggered} for c in ids]
    if message in ("DiagnosticsStatusNotification", "FirmwareStatusNotification"):
        return [{"status": "Idle"}]  # nothing going on: Idle (§7.23, §7.26)
    return [{}]


def conf_index(t: Handle, since: int) -> int:
    """Trace position of the charger's TriggerMessage.conf to the latest TriggerMessage."""
    trace = t._trace()
    sent = [
        f
        for f in trace[since:]
        if f["sender"] == "bench" and f["message_type"] == 2 and f["action"] == "TriggerMessage"
    ]
    t.check(bool(sent), "the TriggerMessage request is not in the trace")
    uid = sent[-1]["unique_id"]
    for index, frame in enumerate(trace):
        if frame["sender"] == "dut" and frame["message_type"] == 3 and frame["unique_id"] == uid:
            return index
    raise ScenarioFailed("the TriggerMessage.conf is not in the trace")


async def trigger(t: Handle, message: str, connector: int | None) -> None:
    """TriggerMessage Accepted, then the requested message(s), after the conf."""
    what = f"TriggerMessage {message}" + ("" if connector is None else f" connectorId {connector}")
    mark = t.mark()
    await request(
        t, call.TriggerMessage(requested_message=message, connector_id=connector), ("Accepted",)
    )
    conf = conf_index(t, mark)
    for subset in expected(t, message, connector):
        try:
            sent = await t.expect(message, subset, within=SENT_WITHIN, since=mark)
        except ScenarioFailed as exc:
            raise ScenarioFailed(f"{what} (Accepted): {exc}") from None
        t.check(
            t.index_of(sent) > conf,
            f"{what}: the charger sent {message} before its TriggerMessage.conf (§5.17)",
        )
    t.details.setdefault("triggered", []).append(what)


@scenario("TC_054_CS", "Trigger Message", profile="trigger", requires=(PROFILE,))
async def tc_054(t: Handle) -> None:
    """TriggerMessage for every MessageTrigger a charge point must honour - MeterValues,
    Heartbeat, StatusNotification, DiagnosticsStatusNotification,
    FirmwareStatusNotification and BootNotification - each with connectorId 1 and
    without: Accepted, and after the TriggerMessage.conf the requested message: per
    connector where connectorId is relevant (all of them when it is absent; MeterValues
    with context Trigger), once where it is not (the connectorId is then ignored); an
    idle charger's diagnostics and firmware status is Idle. OCPP 1.6 §5.17
    TriggerMessage, §7.37 MessageTrigger."""
    await idle(t)
    for message in (
        "MeterValues",
        "Heartbeat",
        "StatusNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "BootNotification",
    ):
        for connector in (1, None):
            await trigger(t, message, connector)


@scenario("TC_055_CS", "Trigger Message - Rejected", profile="trigger", requires=(PROFILE,))
async def tc_055(t: Handle) -> None:
    """TriggerMessage MeterValues, and StatusNotification, for a connectorId the charger
    does not have (NumberOfConnectors + 1): Rejected, and no such message is sent.
    OCPP 1.6 §5.17, §7.38 TriggerMessageStatus."""
    await idle(t)
    unknown = max(connectors(t)) + 1
    for message in ("MeterValues", "StatusNotification"):
        mark = t.mark()
        await request(
            t, call.TriggerMessage(requested_message=message, connector_id=unknown), ("Rejected",)
        )
        await t.expect_none(message, {"connectorId": unknown}, during=3, since=mark)
