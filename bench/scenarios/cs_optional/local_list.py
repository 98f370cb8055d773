"""Local Authorization List Management: TC_008_1, TC_008_2, TC_042_1, TC_042_2, TC_043,
TC_043_1, TC_043_2, TC_043_3."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

from bench.scenarios.cs_core.steps import (
    CHARGING_WITHIN,
    TAG,
    TAG_2,
    authorizes_of,
    configure,
    idle,
    plug,
    remote_start,
    started,
)
from bench.scenarios.cs_optional.steps import max_items, request
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

PROFILE = "profile.local-list"


def entry(tag: str, status: str | None = "Accepted") -> dict[str, Any]:
    """A localAuthorizationList entry; no status: remove the tag (Differential)."""
    return {"idTag": tag} if status is None else {"idTag": tag, "idTagInfo": {"status": status}}


async def send_list(
    t: Handle,
    version: int,
    update: str,
    entries: list[dict[str, Any]] | None,
    expect: str = "Accepted",
) -> None:
    await request(
        t,
        call.SendLocalList(
            list_version=version, update_type=update, local_authorization_list=entries
        ),
        (expect,),
    )


async def list_version(t: Handle, expect: int | None = None) -> int:
    answer = await t.call(call.GetLocalListVersion())
    version = answer.get("listVersion")
    t.check(isinstance(version, int), f"GetLocalListVersion.conf has no listVersion: {answer}")
    if expect is not None:
        t.check(version == expect, f"GetLocalListVersion answered {version}, not {expect}")
    return version


async def configure_if_writable(t: Handle, key: str, value: str) -> None:
    """Set ``key`` where the charger has it writable (the OCTT's "(If implemented)")."""
    found, _ = await t.get_configuration([key])
    entry_ = found.get(key)
    if entry_ is None:
        t.details.setdefault("not_implemented", []).append(key)
        return
    if entry_.get("readonly"):
        t.details.setdefault("read_only", []).append(f"{key}={entry_.get('value')}")
        return
    await t.configure(key, value)


async def use_the_list(t: Handle) -> None:
    """The configuration of TC_008: LocalPreAuthorize and LocalAuthListEnabled true, the
    authorization cache off (if it can be), so only the list can authorize locally."""
    await configure(t, LocalPreAuthorize="true", LocalAuthListEnabled="true")
    await configure_if_writable(t, "AuthorizationCacheEnabled", "false")


async def start_from_list(t: Handle, tag: str, connector: int = 1) -> None:
    """The idTag on the list is presented, then the cable plugged in: the transaction
    starts at once from the list, without an Authorize."""
    mark = t.mark()
    await t.tap(tag)
    t.plug(connector)
    tx = await started(t, connector, tag, mark)
    asked = authorizes_of(t, tag, mark, until=tx.start)
    t.check(
        not asked,
        f"the charger sent Authorize for {tag}, which is on its Local Authorization List, "
        "though LocalPreAuthorize is true (§3.5.2, §9.1.13)",
    )
    await t.expect_status(connector, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_008_1_CS",
    "Regular Start Charging Session - Id in Local Authorization List",
    profile="local-list",
    requires=(PROFILE, "C-07"),
)
async def tc_008_1(t: Handle) -> None:
    """LocalPreAuthorize and LocalAuthListEnabled true, the cache off; GetLocalListVersion,
    then SendLocalList (Full) with the idTag: Accepted. The driver presents the idTag and
    plugs in: StartTransaction without an Authorize (the list authorizes), then Charging.
    OCPP 1.6 §3.5.2 Local Authorization List, §5.15 SendLocalList, §9.1.13."""
    await idle(t)
    await use_the_list(t)
    version = await list_version(t)
    await send_list(t, max(version, 0) + 1, "Full", [entry(TAG)])
    await start_from_list(t, TAG)


@scenario(
    "TC_008_2_CS",
    "Remote Start Charging Session - Id in Local Authorization List",
    profile="local-list",
    requires=(PROFILE,),
)
async def tc_008_2(t: Handle) -> None:
    """AuthorizeRemoteTxRequests, LocalPreAuthorize and LocalAuthListEnabled true, the
    cache off; SendLocalList (Full) with the idTag. Cable plugged in, then
    RemoteStartTransaction for the idTag: it is authorized like a local action, from the
    list - StartTransaction without an Authorize - then Charging. OCPP 1.6 §5.11, §9.1.3
    AuthorizeRemoteTxRequests, §3.5.2, §9.1.13."""
    await idle(t)
    await use_the_list(t)
    await configure(t, AuthorizeRemoteTxRequests="true")
    version = await list_version(t)
    await send_list(t, max(version, 0) + 1, "Full", [entry(TAG)])
    await plug(t, 1)
    mark = t.mark()
    await remote_start(t, 1, TAG)
    tx = await started(t, 1, TAG, mark)
    t.check(
        not authorizes_of(t, TAG, mark, until=tx.start),
        f"the charger sent Authorize for {TAG}, which is on its Local Authorization List "
        "(AuthorizeRemoteTxRequests and LocalPreAuthorize true: authorized like a local action)",
    )
    await t.expect_status(1, "Charging", CHARGING_WITHIN, mark)


@scenario(
    "TC_042_1_CS",
    "Get Local List Version (not supported)",
    profile="local-list",
)
async def tc_042_1(t: Handle) -> None:
    """A charger without the Local Auth List Management profile, or one whose list is
    switched off (LocalAuthListEnabled false, set where writable): GetLocalListVersion is
    answered listVersion -1, or CALLERROR NotSupported. OCPP 1.6 §5.10 ("-1 SHALL be used
    to indicate that the Charge Point does not support Local Authorization Lists").
    Applies to chargers with and without the profile, as in the OCTT."""
    await idle(t)
    found, _ = await t.get_configuration(["LocalAuthListEnabled"])
    key = found.get("LocalAuthListEnabled")
    if key is not None:
        if key.get("readonly"):
            t.check(
                str(key.get("value")).lower() == "false",
                "precondition not met: LocalAuthListEnabled is read-only "
                f"{key.get('value')} (the case needs a charger that can switch its list off)",
            )
        else:
            await t.configure("LocalAuthListEnabled", "false")
    answer = await request(
        t, call.GetLocalListVersion(), (-1,), or_error=("NotSupported",), field="listVersion"
    )
    t.details["answer"] = answer


@scenario(
    "TC_042_2_CS", "Get Local List Version (empty)", profile="local-list", requires=(PROFILE,)
)
async def tc_042_2(t: Handle) -> None:
    """LocalAuthListEnabled true; SendLocalList Full with listVersion 1 and no
    localAuthorizationList (an empty list): Accepted; GetLocalListVersion then answers 0,
    the version of an empty list. OCPP 1.6 §5.10 ("0 SHALL be used to indicate that the
    local authorization list is empty"), §5.15."""
    await idle(t)
    await configure(t, LocalAuthListEnabled="true")
    await send_list(t, 1, "Full", None)
    await list_version(t, expect=0)


@scenario(
    "TC_043_CS",
    "Send Local Authorization List",
    profile="local-list",
    requires=(PROFILE, "C-07"),
)
async def tc_043(t: Handle) -> None:
    """LocalAuthListEnabled true; SendLocalList Full (version 1, one idTag) and then
    Differential (version 2, another idTag): both Accepted, GetLocalListVersion follows
    (1, then 2). The idTag added by the differential update then authorizes locally:
    presented with LocalPreAuthorize true and the cache off, it starts a transaction
    without an Authorize. OCPP 1.6 §5.15 SendLocalList, §5.10, §3.5.2."""
    await idle(t)
    await use_the_list(t)
    await send_list(t, 1, "Full", [entry(TAG)])
    await list_version(t, expect=1)
    await send_list(t, 2, "Differential", [entry(TAG_2)])
    await list_version(t, expect=2)
    await start_from_list(t, TAG_2)


@scenario(
    "TC_043_1_CS",
    "Send Local Authorization List - NotSupported",
    profile="local-list",
    requires=("!profile.local-list",),
)
async def tc_043_1(t: Handle) -> None:
    """A charger without the Local Auth List Management profile answers SendLocalList
    (Full) with status NotSupported, or with CALLERROR NotSupported. OCPP 1.6 §5.15,
    §7.44 UpdateStatus. Applies only to chargers that do not declare the profile (PICS
    item "!profile.local-list")."""
    await idle(t)
    answer = await request(
        t,
        call.SendLocalList(
            list_version=1, update_type="Full", local_authorization_list=[entry(TAG)]
        ),
        ("NotSupported",),
        or_error=("NotSupported",),
    )
    t.details["answer"] = answer


@scenario(
    "TC_043_2_CS",
    "Send Local Authorization List - VersionMismatch",
    profile="local-list",
    requires=(PROFILE,),
)
async def tc_043_2(t: Handle) -> None:
    """LocalAuthListEnabled true; SendLocalList Full version 2: Accepted, listVersion 2;
    Differential version 5: Accepted, listVersion 5; Differential version 5 again (not
    above the current one): VersionMismatch, and the list stays at version 5.
    OCPP 1.6 §5.15, §7.44 UpdateStatus VersionMismatch ("less or equal")."""
    await idle(t)
    await configure(t, LocalAuthListEnabled="true")
    await send_list(t, 2, "Full", [entry(TAG)])
    await list_version(t, expect=2)
    await send_list(t, 5, "Differential", [entry(TAG_2)])
    await list_version(t, expect=5)
    await send_list(t, 5, "Differential", [entry(TAG, "Blocked")], expect="VersionMismatch")
    await list_version(t, expect=5)


@scenario(
    "TC_043_3_CS",
    "Send Local Authorization List - Failed",
    profile="local-list",
    requires=(PROFILE,),
)
async def tc_043_3(t: Handle) -> None:
    """The charger is brought into a state where it must fail to update its list: the
    list holds LocalAuthListMaxLength idTags (a Full update and Differential ones, each of
    at most SendLocalListMaxLength entries, all Accepted). One more idTag in a further
    Differential update cannot be stored: SendLocalList answers Failed and the list keeps
    its version. (The OCTT leaves the failing state to the vendor and then sends a Full
    update; with SendLocalListMaxLength <= LocalAuthListMaxLength a full memory is only
    reachable through differential updates.) OCPP 1.6 §5.15, §7.44 UpdateStatus Failed,
    §9.4 LocalAuthListMaxLength, SendLocalListMaxLength."""
    await idle(t)
    await configure(t, LocalAuthListEnabled="true")
    found, _ = await t.get_configuration(["LocalAuthListMaxLength", "SendLocalListMaxLength"])
    capacity = max_items(
        (found.get("LocalAuthListMaxLength") or {}).get("value"), "LocalAuthListMaxLength", t
    )
    per_message = max_items(
        (found.get("SendLocalListMaxLength") or {}).get("value"), "SendLocalListMaxLength", t
    )
    t.check(capacity > 0 and per_message > 0, f"list sizes {capacity}/{per_message}")
    tags = [f"0B{i:08X}" for i in range(capacity + 1)]
    t.details["capacity"] = capacity
    version = 1
    first = min(per_message, capacity)
    await send_list(t, version, "Full", [entry(tag) for tag in tags[:first]])
    stored = first
    while stored < capacity:
        chunk = tags[stored : min(stored + per_message, capacity)]
        version += 1
        await send_list(t, version, "Differential", [entry(tag) for tag in chunk])
        stored += len(chunk)
    await list_version(t, expect=version)
    await send_list(t, version + 1, "Differential", [entry(tags[capacity])], expect="Failed")
    await list_version(t, expect=version)
