"""Local authorization list management: the Central System reads and sends the local list."""

from __future__ import annotations

from typing import Any

from bench.scenarios.csms_optional.steps import optional_case, reported
from bench.scenarios.csms_role import CsmsHandle

UPDATE_TYPES = ("Full", "Differential")


async def get_version(t: CsmsHandle, answered: int) -> None:
    """The operator asks for the local list version; the charge point answers ``answered``."""
    await t.booted()
    t.answer("GetLocalListVersion", {"listVersion": answered})
    request, _ = await t.operated(t.operator.get_local_list_version(), "GetLocalListVersion")
    outcome = await t.outcome(request)
    if outcome is not None:
        t.check(
            outcome.get("listVersion") == answered,
            f"the CSMS reported listVersion {outcome.get('listVersion')}, the charge point "
            f"answered {answered}",
        )
    t.details["list_version"] = answered


def check_send_local_list(
    t: CsmsHandle, sent: dict[str, Any], update_type: str | None = None
) -> None:
    """SendLocalList.req is coherent: a known updateType, a version, idTagInfo for Full."""
    kind = sent.get("updateType")
    t.check(kind in UPDATE_TYPES, f"the CSMS's SendLocalList has updateType {kind!r}")
    if update_type is not None:
        t.check(kind == update_type, f"the CSMS sent updateType {kind}, expected {update_type}")
    version = sent.get("listVersion")
    t.check(
        isinstance(version, int) and version > 0,
        f"the CSMS's SendLocalList has listVersion {version!r}; a list sent has a version > 0 "
        "(0 means empty, -1 not supported)",
    )
    entries = sent.get("localAuthorizationList") or []
    if kind == "Full":
        missing = [e.get("idTag") for e in entries if "idTagInfo" not in e]
        t.check(
            not missing, f"a Full update needs idTagInfo for every entry; missing for {missing}"
        )
    tags = [e.get("idTag") for e in entries]
    t.check(len(tags) == len(set(tags)), f"the CSMS's SendLocalList repeats idTags: {tags}")
    t.details.setdefault("sent_lists", []).append(
        {"updateType": kind, "listVersion": version, "entries": len(entries)}
    )


async def send_list(
    t: CsmsHandle,
    answered: str,
    update_type: str = "Full",
    entries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    # Accepted is the charge point's own answer: it then holds the version sent.
    t.answer("SendLocalList", None if answered == "Accepted" else {"status": answered})
    request, sent = await t.operated(
        t.operator.send_local_list(update_type, entries), "SendLocalList"
    )
    check_send_local_list(t, sent, update_type)
    await reported(t, request, "SendLocalList", answered)
    t.answer("SendLocalList", None)
    return sent


@optional_case("TC_042_1_CSMS", "Get Local List Version (not supported)", "local-list")
async def tc_042_1_version_not_supported(t: CsmsHandle) -> None:
    """The operator asks for the local list version; the charge point answers -1.

    The CSMS sends GetLocalListVersion.req; the charge point, without local list
    support, answers listVersion -1, which the CSMS takes (and reports).
    """
    await get_version(t, -1)


@optional_case("TC_042_2_CSMS", "Get Local List Version (empty)", "local-list")
async def tc_042_2_version_empty(t: CsmsHandle) -> None:
    """The operator asks for the local list version; the charge point has none: 0."""
    await get_version(t, 0)


@optional_case("TC_043_1_CSMS", "Send Local Authorization List - NotSupported", "local-list")
async def tc_043_1_not_supported(t: CsmsHandle) -> None:
    """The operator sends a local list; the charge point answers NotSupported.

    The SendLocalList.req is well formed (updateType, listVersion > 0, idTagInfo for
    every entry of a Full update) and the CSMS takes the NotSupported answer.
    """
    await t.booted()
    await send_list(t, "NotSupported")


@optional_case("TC_043_3_CSMS", "Send Local Authorization List - Failed", "local-list")
async def tc_043_3_failed(t: CsmsHandle) -> None:
    """The operator sends a local list; the charge point fails to store it: Failed."""
    await t.booted()
    await send_list(t, "Failed")


@optional_case("TC_043_4_CSMS", "Send Local Authorization List - Full", "local-list")
async def tc_043_4_full(t: CsmsHandle) -> None:
    """The operator sends a full local list: updateType Full, every entry with its idTagInfo.

    The charge point accepts it; asked for its version afterwards, it answers the
    version just sent, which the CSMS takes.
    """
    await t.booted()
    sent = await send_list(t, "Accepted", "Full")
    t.check(
        bool(sent.get("localAuthorizationList")),
        "the CSMS sent a Full local list without entries (the operator's list was not sent)",
    )
    request, _ = await t.operated(t.operator.get_local_list_version(), "GetLocalListVersion")
    outcome = await t.outcome(request)
    if outcome is not None:
        t.check(
            outcome.get("listVersion") == sent["listVersion"],
            f"the CSMS reported listVersion {outcome.get('listVersion')} after sending "
            f"version {sent['listVersion']}",
        )


@optional_case("TC_043_5_CSMS", "Send Local Authorization List - Differential", "local-list")
async def tc_043_5_differential(t: CsmsHandle) -> None:
    """After a full list, a differential update: updateType Differential, a higher version.

    The entries of the differential update add or change idTags (with idTagInfo) or
    remove them (without); the charge point accepts both updates.
    """
    await t.booted()
    full = await send_list(t, "Accepted", "Full")
    change = [
        {"idTag": t.tags.valid2, "idTagInfo": {"status": "Accepted", "parentIdTag": t.tags.parent}}
    ]
    diff = await send_list(t, "Accepted", "Differential", change)
    t.check(
        diff["listVersion"] > full["listVersion"],
        f"the differential update has listVersion {diff['listVersion']}, not above the full "
        f"list's {full['listVersion']}",
    )
    t.check(
        bool(diff.get("localAuthorizationList")),
        "the CSMS sent a Differential update without entries",
    )
