"""The OCTT 1.6 charge-point cases of the optional feature profiles (``TC_<nnn>_CS``).

One module per catalogue module (shared/octt-1.6-catalogue.md), imported in catalogue
order; written like the Core ones in :mod:`bench.scenarios.cs_core`, whose helpers they
reuse. Each case follows the OCTT test case's steps and checks; the smart-charging
cases also measure that the limit in force limits the rig's output.
"""

import importlib

MODULES = (
    "local_list",  # 008_1, 008_2, 042_1, 042_2, 043, 043_1, 043_2, 043_3
    "firmware",  # 044_1, 044_2, 044_3
    "diagnostics",  # 045_1, 045_2
    "reservation",  # 046_1, 046_2, 047, 048_1..4, 049, 050_1..4, 051, 052, 053_1, 053_2
    "trigger",  # 054, 055
    "smart_charging",  # 056, 057, 058_1, 058_2, 059, 060, 066, 067, 072, 082
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
