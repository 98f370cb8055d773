"""The OCPP 1.6 security extension ("Improved security for OCPP 1.6-J", edition 3).

Pure pieces (profiles, certificates, csr, events, connection) import nothing of the
runtime; :mod:`.feature` plugs them into the agent.
"""
