"""Which OCPP 1.6 requests go which way: the bench's engine, CSMS and panel share these."""

from __future__ import annotations

#: Requests a Central System sends to a charge point: Core and the optional profiles.
CSMS_ACTIONS = (
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)

#: The same direction, added by the "Improved security for OCPP 1.6-J" whitepaper.
CSMS_SECURITY_ACTIONS = (
    "CertificateSigned",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetInstalledCertificateIds",
    "GetLog",
    "InstallCertificate",
    "SignedUpdateFirmware",
)
