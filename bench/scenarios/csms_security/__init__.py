"""The security ``_CSMS`` cases ("Improved security for OCPP 1.6-J"): the bench is the
charge point, with real keys, CSRs, certificate chains, TLS and profile switches
(:mod:`bench.scenarios.sim_security`), and the Central System is under test.

073 Basic-auth password, 074 CSR flow, 075_1/075_2 install roots, 076 delete, 077
invalid ChargePointCertificate, 078 invalid CentralSystemCertificate, 079 security log,
080/081 signed firmware, 083 profile upgrade, 085 Basic auth, 086 TLS server
certificate, 087 TLS client certificate, 088 subprotocol negotiation.
"""

import importlib

MODULES = (
    "credentials",  # 073
    "certificates",  # 074, 075_1, 075_2, 076, 077, 078
    "logs",  # 079
    "firmware",  # 080, 081
    "connection",  # 083, 085, 086, 087, 088
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
