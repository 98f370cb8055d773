"""Configuration, happy flow: TC_019, TC_021."""

from __future__ import annotations

from bench.scenarios.cs_core.steps import configure, idle
from bench.scenarios.handle import Handle
from bench.scenarios.registry import scenario

# Required Core keys (§9.1; StopTransactionOnEVSideDisconnect optional since errata v4.0).
REQUIRED = (
    "AuthorizeRemoteTxRequests",
    "ClockAlignedDataInterval",
    "ConnectionTimeOut",
    "ConnectorPhaseRotation",
    "GetConfigurationMaxKeys",
    "HeartbeatInterval",
    "LocalAuthorizeOffline",
    "LocalPreAuthorize",
    "MeterValuesAlignedData",
    "MeterValuesSampledData",
    "MeterValueSampleInterval",
    "NumberOfConnectors",
    "ResetRetries",
    "StopTransactionOnInvalidId",
    "StopTxnAlignedData",
    "StopTxnSampledData",
    "SupportedFeatureProfiles",
    "TransactionMessageAttempts",
    "TransactionMessageRetryInterval",
    "UnlockConnectorOnEVSideDisconnect",
)
READ_ONLY = ("GetConfigurationMaxKeys", "NumberOfConnectors", "SupportedFeatureProfiles")
BOOLEAN = (
    "AllowOfflineTxForUnknownId",
    "AuthorizationCacheEnabled",
    "AuthorizeRemoteTxRequests",
    "LocalAuthorizeOffline",
    "LocalPreAuthorize",
    "StopTransactionOnEVSideDisconnect",
    "StopTransactionOnInvalidId",
    "UnlockConnectorOnEVSideDisconnect",
)
INTEGER = (
    "ClockAlignedDataInterval",
    "ConnectionTimeOut",
    "GetConfigurationMaxKeys",
    "HeartbeatInterval",
    "MaxEnergyOnInvalidId",
    "MeterValueSampleInterval",
    "MinimumStatusDuration",
    "NumberOfConnectors",
    "ResetRetries",
    "TransactionMessageAttempts",
    "TransactionMessageRetryInterval",
    "WebSocketPingInterval",
)
# Optional keys the PICS says the device has (C-02..C-05).
BY_PICS = {
    "C-02": "AllowOfflineTxForUnknownId",
    "C-03": "MaxEnergyOnInvalidId",
    "C-04": "AuthorizationCacheEnabled",
    "C-05": "MinimumStatusDuration",
}
# Values the PICS states (ORS-x, HFS-8) and the key that reports each.
PICS_VALUES = {
    "ORS-1": "GetConfigurationMaxKeys",
    "ORS-2": "MeterValuesAlignedDataMaxLength",
    "ORS-3": "MeterValuesSampledDataMaxLength",
    "ORS-8": "StopTransactionMaxMeterValues",
    "ORS-9": "StopTxnAlignedDataMaxLength",
    "ORS-10": "StopTxnSampledDataMaxLength",
    "HFS-8": "NumberOfConnectors",
}
PROFILES = {
    "profile.core": "Core",
    "profile.firmware": "FirmwareManagement",
    "profile.local-list": "LocalAuthListManagement",
    "profile.smart-charging": "SmartCharging",
    "profile.trigger": "RemoteTrigger",
    "profile.reservation": "Reservation",
}
UNKNOWN_KEY = "OcttUnknownKey"


@scenario("TC_019_CS", "Retrieve configuration")
async def tc_019(t: Handle) -> None:
    """GetConfiguration: SupportedFeatureProfiles is read-only and lists the profiles the
    PICS declares; without keys, every required Core key (and the optional ones the PICS
    declares) is reported with a value of its type and the right read-only flags, and
    the limits match the PICS (ORS-x); a request for as many keys as
    GetConfigurationMaxKeys gets all of them back, an unknown key comes back in
    unknownKey. OCPP 1.6 §5.8 GetConfiguration, §9.1 Core configuration keys."""
    await idle(t)
    found, _ = await t.get_configuration(["SupportedFeatureProfiles"])
    entry = found.get("SupportedFeatureProfiles")
    t.check(entry is not None, "SupportedFeatureProfiles is not reported")
    profiles = {p.strip() for p in str(entry.get("value", "")).split(",") if p.strip()}
    t.check(entry.get("readonly") is True, "SupportedFeatureProfiles is not read-only")
    for item, name in PROFILES.items():
        if t.pics.get(item):
            t.check(name in profiles, f"SupportedFeatureProfiles {sorted(profiles)} lacks {name}")
    every, unknown = await t.get_configuration(None)
    t.check(not unknown, f"GetConfiguration without keys returned unknownKey {unknown}")
    wanted = list(REQUIRED) + [key for item, key in BY_PICS.items() if t.pics.get(item)]
    missing = [key for key in wanted if key not in every]
    t.check(not missing, f"GetConfiguration does not report {missing}")
    for key in READ_ONLY:
        t.check(every[key].get("readonly") is True, f"{key} is not reported read-only")
    for key, entry in every.items():
        value = entry.get("value")
        if key in BOOLEAN:
            t.check(str(value).lower() in ("true", "false"), f"{key}={value!r} is not a boolean")
        elif key in INTEGER:
            t.check(_is_int(value), f"{key}={value!r} is not an integer")
    for item, key in PICS_VALUES.items():
        if item in t.pics and key in every:
            t.check(
                str(every[key].get("value")) == str(t.pics[item]),
                f"{key}={every[key].get('value')} but the PICS states {item}={t.pics[item]}",
            )
    limit = int(every["GetConfigurationMaxKeys"]["value"])
    t.check(limit >= 1, f"GetConfigurationMaxKeys={limit}")
    keys = sorted(every)[: limit - 1] + [UNKNOWN_KEY]
    some, unknown = await t.get_configuration(keys)
    t.check(unknown == [UNKNOWN_KEY], f"unknownKey is {unknown}, not [{UNKNOWN_KEY}]")
    lacking = [key for key in keys[:-1] if key not in some]
    t.check(not lacking, f"GetConfiguration for {len(keys)} keys did not return {lacking}")


@scenario("TC_021_CS", "Change/set Configuration")
async def tc_021(t: Handle) -> None:
    """ChangeConfiguration of a read-write key (MeterValueSampleInterval, to a value in
    the PICS range ORS-4..ORS-5) is Accepted and GetConfiguration then reports the new
    value. OCPP 1.6 §5.3 ChangeConfiguration, §5.8, §9.1.19."""
    await idle(t)
    current = await t.config_value("MeterValueSampleInterval")
    low, high = int(t.pics.get("ORS-4", 5)), int(t.pics.get("ORS-5", 60))
    value = str(high if str(current) != str(high) else low)
    await configure(t, MeterValueSampleInterval=value)
    now = await t.config_value("MeterValueSampleInterval")
    t.check(now == value, f"MeterValueSampleInterval reads {now} after setting it to {value}")


def _is_int(value: object) -> bool:
    try:
        int(str(value))
    except ValueError:
        return False
    return True
