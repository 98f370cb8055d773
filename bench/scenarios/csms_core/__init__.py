"""The Core ``_CSMS`` cases: the bench is the charge point, the Central System is under test.

One module per catalogue module (the OCTT 1.6 grouping the ``_CS`` side uses too),
imported in catalogue order so the cases list in that order. Each case follows the
OCTT 1.6 test case for a Central System: the charge point's messages, the CSMS
requests an operator action must cause, and the checks on what the Central System
answered or sent.
"""

import importlib

MODULES = (
    "cold_boot",  # 001
    "start_session",  # 003, 004_1, 004_2
    "stop_session",  # 005_1
    "cache",  # 007, 061
    "remote_actions",  # 010, 011_1, 011_2, 012
    "reset",  # 013, 014
    "unlock",  # 017_1, 017_2, 018_1
    "configuration",  # 019_1, 019_2, 021
    "non_happy_basic",  # 023_1, 023_2, 023_3, 024
    "non_happy_remote",  # 026, 028
    "non_happy_unlock",  # 030, 031
    "power_failure",  # 032_1
    "offline",  # 037_1, 037_3, 039
    "config_keys",  # 040_1, 040_2
    "data_transfer",  # 064
)

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
