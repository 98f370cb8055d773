"""The bench's own Central System (OCPP 1.6-J, security profiles 1 and 2).

``store`` is the SQLite state, ``handlers`` answer charge-point-initiated messages,
``session`` binds them to one WebSocket, ``operations`` are the CSMS-initiated
requests, ``trace`` the in-memory frame log and ``server`` the :class:`CentralSystem`.
"""
