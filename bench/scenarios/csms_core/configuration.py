"""Configuration: the Central System reads and changes the charge point's configuration keys."""

from __future__ import annotations

from bench.scenarios.csms_core.steps import check_status, core_case, quiet_after
from bench.scenarios.csms_role import CsmsHandle

SPECIFIC_KEY = "MeterValueSampleInterval"


@core_case("TC_019_1_CSMS", "Retrieve all configuration keys")
async def tc_019_1_all_keys(t: CsmsHandle) -> None:
    """The operator retrieves all keys: GetConfiguration.req without (or with an empty) key list.

    The charge point answers with all its keys; where the DUT reports back, it reports
    them all.
    """
    await t.booted()
    request, sent = await t.operated(t.operator.get_configuration(), "GetConfiguration")
    t.check(
        not sent.get("key"),
        f"the CSMS asked for keys {sent.get('key')}, not for all configuration keys",
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        reported = {k["key"] for k in outcome.get("configurationKey", [])}
        missing = set(t.cp.config.keys) - reported
        t.check(not missing, f"the CSMS reported only some keys; missing {sorted(missing)}")
        t.details["keys_reported"] = len(reported)


@core_case("TC_019_2_CSMS", "Retrieve specific configuration key")
async def tc_019_2_specific_key(t: CsmsHandle) -> None:
    """The operator retrieves one key: GetConfiguration.req names exactly that key.

    The charge point answers with its value; where the DUT reports back, it reports
    that key and value.
    """
    await t.booted()
    request, sent = await t.operated(
        t.operator.get_configuration([SPECIFIC_KEY]), "GetConfiguration"
    )
    t.check(
        sent.get("key") == [SPECIFIC_KEY],
        f"the CSMS asked for keys {sent.get('key')}, the operator asked for [{SPECIFIC_KEY}]",
    )
    outcome = await t.outcome(request)
    if outcome is not None:
        keys = outcome.get("configurationKey", [])
        t.check(
            [k.get("key") for k in keys] == [SPECIFIC_KEY]
            and keys[0].get("value") == t.cp.config.get(SPECIFIC_KEY),
            f"the CSMS reported {keys} for {SPECIFIC_KEY}",
        )


@core_case("TC_021_CSMS", "Change/set Configuration")
async def tc_021_change_configuration(t: CsmsHandle) -> None:
    """The operator sets MeterValueSampleInterval to 60.

    The CSMS sends ChangeConfiguration.req with key MeterValueSampleInterval and value
    "60"; the charge point accepts; the CSMS reports the outcome Accepted (ours also
    records the new value) and sends no unsolicited GetConfiguration afterwards.
    """
    await t.booted()
    request, _ = await t.operated(
        t.operator.change_configuration(SPECIFIC_KEY, "60"),
        "ChangeConfiguration",
        {"key": SPECIFIC_KEY, "value": "60"},
    )
    since = t.mark()
    outcome = await t.outcome(request)
    if outcome is not None:
        check_status(t, "the CSMS reported ChangeConfiguration", outcome.get("status"), "Accepted")
    if t.operator.local:  # our CSMS: what it now holds for the charge point
        held = {
            entry["key"]: entry.get("value")
            for entry in t.operator.csms.store.configuration(t.cp_id)  # type: ignore[attr-defined]
        }
        t.check(
            held.get(SPECIFIC_KEY) == "60",
            f"the CSMS records {SPECIFIC_KEY}={held.get(SPECIFIC_KEY)!r} after the charge point "
            "accepted 60",
        )
    await quiet_after(t, "ChangeConfiguration", since)
