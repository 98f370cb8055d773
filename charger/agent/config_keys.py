"""OCPP 1.6 configuration keys as data: type, access, range, default.

Limits follow the seed charger's certificate (ORS-1..ORS-11); the agent must
answer GetConfiguration/ChangeConfiguration exactly as such a charger would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["bool", "int", "csl", "str"]

SUPPORTED_MEASURANDS = (
    "Energy.Active.Import.Register",
    "Voltage",
    "Current.Import",
    "SoC",
    "Power.Active.Import",
    "Current.Offered",
    "Power.Offered",
)


@dataclass(frozen=True)
class KeySpec:
    name: str
    kind: Kind
    default: str
    readonly: bool = False
    minimum: int | None = None
    maximum: int | None = None
    reboot: bool = False
    max_items: int | None = None  # for comma-separated lists
    choices: tuple[str, ...] | None = None  # allowed list items / values
    hidden: bool = False  # write-only (AuthorizationKey): never reported

    def validate(self, value: str) -> str | None:
        """The normalised value, or None when the value is not acceptable."""
        value = value.strip()
        if self.kind == "bool":
            low = value.lower()
            return low if low in ("true", "false") else None
        if self.kind == "int":
            try:
                number = int(value)
            except ValueError:
                return None
            if self.minimum is not None and number < self.minimum:
                return None
            if self.maximum is not None and number > self.maximum:
                return None
            return str(number)
        if self.kind == "csl":
            items = [item.strip() for item in value.split(",") if item.strip()]
            if self.max_items is not None and len(items) > self.max_items:
                return None
            if self.choices is not None and any(item not in self.choices for item in items):
                return None
            return ",".join(items)
        if self.choices is not None and value not in self.choices:
            return None
        if self.name == "AuthorizationKey" and not 16 <= len(value) <= 40:
            return None
        return value


def _keys(number_of_connectors: int) -> list[KeySpec]:
    m = SUPPORTED_MEASURANDS
    return [
        KeySpec("AllowOfflineTxForUnknownId", "bool", "false"),
        KeySpec("AuthorizationCacheEnabled", "bool", "true"),
        KeySpec("AuthorizeRemoteTxRequests", "bool", "false"),
        KeySpec("ClockAlignedDataInterval", "int", "0", minimum=0, maximum=86400),
        KeySpec("ConnectionTimeOut", "int", "60", minimum=1, maximum=600),
        KeySpec("ConnectorPhaseRotation", "csl", "0.NotApplicable,1.NotApplicable,2.NotApplicable"),
        KeySpec("ConnectorPhaseRotationMaxLength", "int", "3", readonly=True),
        KeySpec("GetConfigurationMaxKeys", "int", "21", readonly=True),
        KeySpec("HeartbeatInterval", "int", "300", minimum=5, maximum=3600),
        KeySpec("LocalAuthorizeOffline", "bool", "true"),
        KeySpec("LocalPreAuthorize", "bool", "false"),
        KeySpec("MaxEnergyOnInvalidId", "int", "0", minimum=0, maximum=1_000_000),
        KeySpec(
            "MeterValuesAlignedData",
            "csl",
            "Energy.Active.Import.Register,Voltage,Current.Import,SoC",
            max_items=10,
            choices=m,
        ),
        KeySpec("MeterValuesAlignedDataMaxLength", "int", "10", readonly=True),
        KeySpec(
            "MeterValuesSampledData",
            "csl",
            "Energy.Active.Import.Register,Voltage,Current.Import,SoC",
            max_items=10,
            choices=m,
        ),
        KeySpec("MeterValuesSampledDataMaxLength", "int", "10", readonly=True),
        KeySpec("MeterValueSampleInterval", "int", "10", minimum=5, maximum=60),
        KeySpec("MinimumStatusDuration", "int", "0", minimum=0, maximum=3600),
        KeySpec("NumberOfConnectors", "int", str(number_of_connectors), readonly=True),
        KeySpec("ResetRetries", "int", "3", minimum=0, maximum=10),
        KeySpec("StopTransactionOnEVSideDisconnect", "bool", "true"),
        KeySpec("StopTransactionOnInvalidId", "bool", "true"),
        KeySpec(
            "StopTxnAlignedData", "csl", "Energy.Active.Import.Register", max_items=10, choices=m
        ),
        KeySpec("StopTxnAlignedDataMaxLength", "int", "10", readonly=True),
        KeySpec(
            "StopTxnSampledData", "csl", "Energy.Active.Import.Register", max_items=10, choices=m
        ),
        KeySpec("StopTxnSampledDataMaxLength", "int", "10", readonly=True),
        KeySpec("StopTransactionMaxMeterValues", "int", "10", readonly=True),
        KeySpec(
            "SupportedFeatureProfiles",
            "csl",
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,"
            "RemoteTrigger",
            readonly=True,
        ),
        KeySpec("SupportedFeatureProfilesMaxLength", "int", "6", readonly=True),
        KeySpec("TransactionMessageAttempts", "int", "3", minimum=0, maximum=10),
        KeySpec("TransactionMessageRetryInterval", "int", "10", minimum=1, maximum=600),
        # Fixed cables: always false and read-only (OCPP 1.6 errata v4.0, §9.1.33).
        KeySpec("UnlockConnectorOnEVSideDisconnect", "bool", "false", readonly=True),
        KeySpec("WebSocketPingInterval", "int", "10", minimum=0, maximum=3600, reboot=True),
        # Local Auth List Management
        KeySpec("LocalAuthListEnabled", "bool", "true"),
        KeySpec("LocalAuthListMaxLength", "int", "100", readonly=True),
        KeySpec("SendLocalListMaxLength", "int", "20", readonly=True),
        # Reservation
        KeySpec("ReserveConnectorZeroSupported", "bool", "true", readonly=True),
        # false: every ReserveNow is Rejected (a charger set not to take reservations)
        KeySpec("ReservationEnabled", "bool", "true"),
        # Smart Charging
        KeySpec("ChargeProfileMaxStackLevel", "int", "8", readonly=True),
        KeySpec("ChargingScheduleAllowedChargingRateUnit", "csl", "Current,Power", readonly=True),
        KeySpec("ChargingScheduleMaxPeriods", "int", "24", readonly=True),
        KeySpec("MaxChargingProfilesInstalled", "int", "16", readonly=True),
        # Firmware Management
        KeySpec("SupportedFileTransferProtocols", "csl", "FTP", readonly=True),
        # Security whitepaper ed. 3 (its configuration keys). AuthorizationKey is
        # write-only; SecurityProfile changes are the security feature's (upwards only).
        KeySpec("AuthorizationKey", "str", "", hidden=True),
        KeySpec("SecurityProfile", "int", "2", minimum=0, maximum=3),
        KeySpec("CpoName", "str", ""),
        KeySpec("AdditionalRootCertificateCheck", "bool", "false", readonly=True),
        KeySpec("CertificateSignedMaxChainSize", "int", "10000", readonly=True),
        KeySpec("CertificateStoreMaxLength", "int", "10", readonly=True),
    ]


class KeyTable:
    """The keys a charger with ``n`` connectors knows, by name."""

    def __init__(self, number_of_connectors: int) -> None:
        self.specs = {spec.name: spec for spec in _keys(number_of_connectors)}
        # Keys are CiString (OCPP 1.6 §9.1): ConnectionTimeout names ConnectionTimeOut.
        self._by_folded = {name.casefold(): spec for name, spec in self.specs.items()}

    def __contains__(self, name: str) -> bool:
        return name.casefold() in self._by_folded

    def __getitem__(self, name: str) -> KeySpec:
        return self._by_folded[name.casefold()]

    def visible(self) -> list[KeySpec]:
        return [spec for spec in self.specs.values() if not spec.hidden]
