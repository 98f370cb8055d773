"""Remote trigger: the Central System asks the charge point to send a message now."""

from __future__ import annotations

from bench.scenarios.csms_optional.steps import optional_case, reported, wait_answered
from bench.scenarios.csms_role import CsmsHandle

CONNECTOR = 1
#: Every MessageTrigger of OCPP 1.6, with the connector the operator names (None: none).
TRIGGERS = (
    ("MeterValues", CONNECTOR),
    ("Heartbeat", None),
    ("StatusNotification", CONNECTOR),
    ("DiagnosticsStatusNotification", None),
    ("FirmwareStatusNotification", None),
    ("BootNotification", None),
)


@optional_case("TC_054_CSMS", "Trigger Message", "trigger")
async def tc_054_trigger_message(t: CsmsHandle) -> None:
    """The operator triggers each message in turn; the charge point sends it, the CSMS answers.

    For MeterValues, Heartbeat, StatusNotification, DiagnosticsStatusNotification,
    FirmwareStatusNotification and BootNotification: TriggerMessage.req names the
    message (and connector 1 where given); the charge point accepts, then sends the
    message, which the CSMS answers (BootNotification: Accepted).
    """
    await t.booted()
    for message, connector in TRIGGERS:
        subset = {"requestedMessage": message}
        if connector is not None:
            subset["connectorId"] = connector
        mark = t.mark()
        request, sent = await t.operated(
            t.operator.trigger_message(message, connector), "TriggerMessage", subset
        )
        await reported(t, request, f"TriggerMessage {message}", "Accepted")
        answer = await wait_answered(t, message, mark)
        if message == "BootNotification":
            t.check(
                answer.get("status") == "Accepted",
                f"the CSMS answered the triggered BootNotification {answer.get('status')}",
            )
        t.details.setdefault("triggered", []).append(message)


@optional_case("TC_055_CSMS", "Trigger Message - Rejected", "trigger")
async def tc_055_trigger_rejected(t: CsmsHandle) -> None:
    """The charge point rejects a TriggerMessage; the CSMS takes the Rejected answer.

    The operator triggers a MeterValues on connector 1; the charge point answers
    Rejected and sends nothing.
    """
    await t.booted()
    t.answer("TriggerMessage", {"status": "Rejected"})
    request, _ = await t.operated(
        t.operator.trigger_message("MeterValues", CONNECTOR),
        "TriggerMessage",
        {"requestedMessage": "MeterValues"},
    )
    await reported(t, request, "TriggerMessage", "Rejected")
