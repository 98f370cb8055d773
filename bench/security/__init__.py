"""Transport security of the bench: local PKI, TLS contexts and Basic-Auth passwords.

Implements what security profile 2 of the OCPP 1.6 security whitepaper needs on the
Central System side: a server certificate the charger can verify against a root it
was given, and an AuthorizationKey that is only ever stored hashed.
"""
