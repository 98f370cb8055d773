"""TLS as a charge point speaks it: TLS 1.2+, the seed charger's cipher suites.

The firmware's side of security profiles 2 and 3. The bench's CA and the Central
System's server context (``bench/security/pki.py``) build on the same suite lists.

Cipher suites: the whitepaper's Central System suites are ECDHE-ECDSA; with an RSA
certificate a server offers the ECDHE-RSA equivalents first and the static-RSA
TLS_RSA_WITH_AES_128/256_GCM suites that the seed charger (001) supports. OpenSSL
3.0 at its default security level 2 allows these (RSA 2048 = 112 bits), so the
level is not lowered; :func:`require_ciphers` fails loudly if a system OpenSSL
policy removed them.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable

#: OpenSSL names of TLS_RSA_WITH_AES_128_GCM_SHA256 / TLS_RSA_WITH_AES_256_GCM_SHA384.
SEED_CHARGER_CIPHERS = ("AES128-GCM-SHA256", "AES256-GCM-SHA384")
#: Forward-secret suites first, then the static-RSA ones real chargers still use.
SERVER_CIPHERS = (
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    *SEED_CHARGER_CIPHERS,
)


def client_ssl_context(
    ca_file: str | os.PathLike[str],
    *,
    ciphers: Iterable[str] | None = None,
    maximum_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """Client context that verifies the server (chain and host name) against ``ca_file``.

    ``ciphers``/``maximum_version`` narrow it to what a given charger offers, e.g.
    ``ciphers=SEED_CHARGER_CIPHERS, maximum_version=TLSVersion.TLSv1_2``.
    """
    ctx = ssl.create_default_context(cafile=os.fspath(ca_file))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum_version is not None:
        ctx.maximum_version = maximum_version
    wanted = tuple(ciphers) if ciphers is not None else SERVER_CIPHERS
    ctx.set_ciphers(":".join(wanted))
    require_ciphers(ctx, wanted)
    return ctx


#: What the charge point offers (whitepaper ed. 3, TLS of security profiles 2 and 3): the
#: ECDHE AES-GCM suites of the whitepaper's list, then the seed charger's static-RSA ones
#: (TLS 1.3 as usual).
CHARGE_POINT_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    *SERVER_CIPHERS,
)


def charge_point_ssl_context(
    root_pems: str, client_cert: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None
) -> ssl.SSLContext:
    """The charge point's context: TLS 1.2+, the server verified (chain and host name)
    against the installed CentralSystemRootCertificates ``root_pems`` only, and for
    security profile 3 ``client_cert`` (chain file, key file) presented."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(":".join(CHARGE_POINT_CIPHERS))
    require_ciphers(ctx, CHARGE_POINT_CIPHERS)
    if root_pems:
        ctx.load_verify_locations(cadata=root_pems)
    if client_cert is not None:
        ctx.load_cert_chain(os.fspath(client_cert[0]), os.fspath(client_cert[1]))
    return ctx


def require_ciphers(ctx: ssl.SSLContext, names: Iterable[str]) -> None:
    """Raise if OpenSSL's policy left out any of ``names`` (a silently weaker context)."""
    enabled = {c["name"] for c in ctx.get_ciphers()}
    missing = [n for n in names if n not in enabled]
    if missing:
        raise RuntimeError(
            f"OpenSSL ({ssl.OPENSSL_VERSION}, security level {ctx.security_level}) "
            f"refuses cipher suites {missing}; check the system openssl.cnf CipherString"
        )
