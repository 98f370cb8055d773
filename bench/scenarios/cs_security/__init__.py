"""The OCTT 1.6 charge-point cases of the security extension (``TC_073_CS``..``TC_087_CS``).

Written from "Improved security for OCPP 1.6-J" (OCA whitepaper, edition 3), not from
our agent: each case checks the messages, fields and order the whitepaper asks for and
then the state they leave - the key the next handshake uses, the certificate the next
TLS handshake presents, the log file on the FTP server, the firmware that runs, the
profile in force. One module per group, imported in catalogue order.

What the bench expects of a charge point where the whitepaper leaves a choice:
- it reaches the Central System per security profile at the URL its provisioning gives
  (``AgentSettings.csms_urls``: "1" ws://, "2" and "3" wss://, each its own CSMS port);
- it reconnects by itself after an accepted AuthorizationKey or SecurityProfile change;
- it sends SecurityEventNotification for InvalidChargePointCertificate (077),
  InvalidFirmwareSigningCertificate and InvalidFirmwareSignature (081), FirmwareUpdated
  (080) and StartupOfTheDevice at power-up (079); InvalidCentralSystemCertificate (078)
  either as a notification once connected again or in its security log;
- its security log (GetLog SecurityLog) is a text file (or a zip/tar.gz of text files)
  that names each event's type.
"""

import importlib

MODULES = (
    "basic_auth",  # 073
    "certificates",  # 074, 075_1, 075_2, 076, 077
    "tls",  # 078
    "security_log",  # 079
    "firmware",  # 080, 081
    "profiles",  # 083, 084, 085, 086, 087
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
