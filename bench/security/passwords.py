"""Basic-Auth passwords (the whitepaper's AuthorizationKey) and their stored hashes.

The Central System keeps only salted hashes, so a copied database does not reveal any
charger's password. Two kinds:

* ``scrypt$...`` for passwords a person chose (low entropy: a slow hash resists guessing);
* ``hmac-sha256$salt$digest`` for keys the bench generated itself (:func:`generate_password`,
  at least 16 characters of 62 symbols, over 95 bits): guessing them is hopeless whatever
  the hash costs, so a microsecond HMAC with a per-record salt is as safe as scrypt and
  lets a lab register and connect thousands of charge points in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

MIN_LENGTH = 16
MAX_LENGTH = 40
# Letters and digits only: some charger firmwares mangle ':' or quotes in Basic Auth.
ALPHABET = string.ascii_letters + string.digits

# scrypt cost: ~16 MiB and a few tens of ms per check, paid once per connection.
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32
FAST = "hmac-sha256"


def generate_password(length: int = 32) -> str:
    """A random AuthorizationKey of ``length`` characters (16..40 per the whitepaper)."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"AuthorizationKey length must be {MIN_LENGTH}..{MAX_LENGTH}")
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64 parts): self-describing, so costs can change."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def fast_hash(key: str) -> str:
    """``hmac-sha256$salt$digest`` of a machine-generated key (at least 16 characters)."""
    if len(key) < MIN_LENGTH:
        raise ValueError(f"a generated key has at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(_SALT_BYTES)
    return "$".join([FAST, _b64(salt), _b64(_hmac(salt, key))])


def is_fast(stored: str) -> bool:
    """Whether checking against ``stored`` is cheap (a generated key's HMAC)."""
    return stored.startswith(FAST + "$")


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` or
    :func:`fast_hash` string."""
    try:
        scheme, *parts = stored.split("$")
        if scheme == FAST:
            salt, digest = parts
            return hmac.compare_digest(
                _hmac(base64.b64decode(salt), password), base64.b64decode(digest)
            )
        if scheme != "scrypt":
            return False
        n, r, p, salt, digest = parts
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _hmac(salt: bytes, key: str) -> bytes:
    return hmac.new(salt, key.encode("utf-8"), hashlib.sha256).digest()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=64 * 2**20
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
