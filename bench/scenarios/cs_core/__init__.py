"""The OCTT 1.6 charge-point cases of the Core profile (``TC_<nnn>_CS``).

One module per catalogue module (shared/octt-1.6-catalogue.md); importing this
package registers them in catalogue order, the order of ``MODULES``. The bench plays
the Central System, the EVs and the driver; each case follows the OCTT test case's
steps and checks.
"""

import importlib

MODULES = (
    "boot",  # 001, 002
    "start_stop",  # 003, 004_1, 004_2, 005_1..3, 068, 069
    "cache",  # 007_1, 007_2, 061_1, 061_2
    "remote",  # 010, 011_1, 011_2, 012
    "reset",  # 013..016
    "unlock",  # 017_1, 017_2, 018_1, 018_2
    "configuration",  # 019, 021
    "meter_values",  # 070, 071
    "non_happy",  # 023_4, 023_5, 024, 026, 027, 028, 030, 031
    "power_failure",  # 032_1, 032_2, 034
    "offline",  # 036, 037_1..3, 038, 039
    "config_keys",  # 040_1, 040_2
    "fault",  # 041
    "data_transfer",  # 062
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
