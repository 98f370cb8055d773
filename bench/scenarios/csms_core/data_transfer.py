"""Data transfer: the Central System answers a vendor-specific message it does not support."""

from __future__ import annotations

from ocpp.v16 import call

from bench.scenarios.csms_core.steps import check_status, core_case
from bench.scenarios.csms_role import CsmsHandle

VENDOR_ID = "org.openchargealliance.octt.bench"
MESSAGE_ID = "BenchUnsupported"


@core_case("TC_064_CSMS", "Data Transfer to a Central System")
async def tc_064_data_transfer(t: CsmsHandle) -> None:
    """DataTransfer with an unsupported vendorId is not accepted.

    The CSMS answers Rejected, UnknownMessageId or UnknownVendorId; Accepted is
    allowed by the OCTT but recorded as a warning in the details.
    """
    await t.booted()
    response = await t.send(
        call.DataTransfer(vendor_id=VENDOR_ID, message_id=MESSAGE_ID, data="bench")
    )
    status = response.get("status")
    t.details["data_transfer_status"] = status
    if status == "Accepted":
        t.details["warning"] = "the CSMS accepted a DataTransfer for an unsupported vendorId"
        return
    check_status(
        t,
        f"the CSMS answered DataTransfer from vendor {VENDOR_ID}",
        status,
        ("Rejected", "UnknownMessageId", "UnknownVendorId"),
    )
