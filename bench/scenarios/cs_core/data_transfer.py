"""Data transfer: TC_062."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import idle
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario


@scenario("TC_062_CS", "Data Transfer to a Charge Point")
async def tc_062(t: Handle) -> None:
    """DataTransfer with a vendorId the charger has no extension for: it answers with a
    DataTransfer.conf (not a CALLERROR) whose status is UnknownVendorId, UnknownMessageId
    or Rejected. OCPP 1.6 §5.6 DataTransfer (a Core message), §7.23 DataTransferStatus."""
    await idle(t)
    answer = await t.call(
        call.DataTransfer(vendor_id="org.openchargealliance.octt", message_id="Test", data="OCTT")
    )
    t.check(
        answer.get("status") in ("UnknownVendorId", "UnknownMessageId", "Rejected"),
        f"DataTransfer answered {answer}",
    )
