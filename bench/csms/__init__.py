"""The bench's own Central System (OCPP 1.6-J, security profiles 1, 2 and 3).

``store`` is the SQLite state (one versioned schema, ``store/schema.py``; the security
tables' rows are ``store/security.py``), ``handlers`` and ``security_handlers`` answer
charge-point-initiated messages, ``session`` binds them to one WebSocket,
``handshake`` admits charge points per security profile, ``operations`` and
``security_ops`` are the CSMS-initiated requests (one implementation behind the Python
API, the HTTP API and the CLI), ``http_api``/``openapi`` the HTTP JSON API and its
OpenAPI document, ``cli`` the ``bench csms`` command, ``hook`` an operator hook over the
HTTP API, ``trace`` the frame log and ``server`` the :class:`CentralSystem`. Firmware
delivery is :mod:`bench.ftp`; the composite schedule is :mod:`charger.charging_profiles`.
"""
