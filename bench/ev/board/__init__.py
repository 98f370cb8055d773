"""The vehicle-side pilot board: the EV's CP resistors, PP coding and pilot reading.

A bench part (the EV emulator's side of the cable), so it lives here and not in the
charger's firmware package: ``config`` (the rig file's ``[[ev]]`` tables), ``interface``
(what the EV emulator and the scenarios use), ``driver`` (gpiozero on the Pi's pins),
``twin`` (the same driver on mock pins over the simulated rig's pilot wire),
``pins`` (its header pins, checked and drawn with the charger's) and ``selftest``.
"""
