"""The ``_CSMS`` cases of the optional profiles: the bench is the charge point.

Local list (042_1, 042_2, 043_1, 043_3, 043_4, 043_5), firmware management (044_1,
044_2, 044_3) and diagnostics (045_1, 045_2), reservation (046, 047, 048_1..048_4,
049, 051, 052, 053), remote trigger (054, 055) and smart charging (056, 057, 059,
066, 067). One module per catalogue module, imported in catalogue order; each case
follows the OCTT 1.6 test case for a Central System, written like the Core ones in
:mod:`bench.scenarios.csms_core`.
"""

import importlib

MODULES = (
    "local_list",  # 042_1, 042_2, 043_1, 043_3, 043_4, 043_5
    "firmware",  # 044_1, 044_2, 044_3
    "diagnostics",  # 045_1, 045_2
    "reservation",  # 046, 047, 048_1..048_4, 049, 051, 052, 053
    "remote_trigger",  # 054, 055
    "smart_charging",  # 056, 057, 059, 066, 067
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
