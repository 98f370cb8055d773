"""The OCPP 1.6-J link shared by the charger agent and the Central System.

``frames`` parses raw frames and names the OCPP 1.6 CALLERROR codes, ``link`` is the
``ocpp`` ChargePoint subclass that answers malformed frames and traces every frame,
``transport`` opens the charger-side WebSocket (TLS + Basic Auth, ``ocpp1.6``).
"""
