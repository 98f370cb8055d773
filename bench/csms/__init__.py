"""The bench's own Central System (OCPP 1.6-J, security profiles 1 and 2).

``store`` is the SQLite state, ``handlers`` answer charge-point-initiated messages,
``session`` binds them to one WebSocket, ``operations`` are the CSMS-initiated
requests (one implementation behind the Python API, the HTTP API and the CLI),
``api``/``openapi`` the HTTP JSON API and its OpenAPI document, ``cli`` the
``bench csms`` command, ``hook`` an operator hook over the HTTP API, ``trace`` the
in-memory frame log and ``server`` the :class:`CentralSystem`. Firmware delivery
is :mod:`bench.ftp`; the composite schedule is :mod:`charger.charging_profiles`.
"""
