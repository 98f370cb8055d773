"""The charger agent: the OCPP 1.6J firmware of a two-connector DC charger.

Runs as its own process (``python -m charger``); what it must not lose lives
in SQLite under its state directory.
"""

REBOOT_EXIT_CODE = 75
"""The agent exits with this after a Reset: its supervisor starts it again."""
