"""The charger's firmware: what runs on the charger, and nothing of the bench.

``agent/`` (the OCPP 1.6J charge point), ``hw/`` (its hardware drivers),
``protocol/`` (the OCPP-J link), ``charging_profiles/`` (the schedule maths) and
``clock.py``. ``python -m charger SETTINGS`` runs it; ``bench firmware build`` packs
this folder into a signed image. It never imports ``bench``: the bench imports it.
"""
