"""Checking a charge point's Basic-auth password at the handshake, without slowing anyone.

* A stored ``hmac-sha256$`` hash (a key the bench generated) is checked inline: a few
  microseconds. A ``scrypt$`` hash (a password a person chose) goes to a thread, at most
  :data:`SCRYPT_THREADS` at once and one at a time per account, so guessers cannot take
  every worker.
* A password once verified is remembered as an HMAC under a key of this process, for as
  long as the stored hash stays the same: a charge point that reconnects (or many of
  them) costs no scrypt, and a guesser's load never delays it.
* Failures wait before their 401 (:class:`bench.security.backoff.Backoff`, per source
  address and per charge point); a right password is never refused or delayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict

from bench.security.backoff import Backoff
from bench.security.passwords import is_fast, verify_password

SCRYPT_THREADS = 2
CACHE_SIZE = 50_000


class CredentialChecker:
    """Verifies passwords against stored hashes with a cache and back-off."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()
        self._secret = secrets.token_bytes(32)
        self._verified: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._slow = asyncio.Semaphore(SCRYPT_THREADS)
        self._account_locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # checks holding or waiting for each lock
        #: How many slow (scrypt) checks ran: the bench's perf figure and its tests.
        self.slow_checks = 0

    def _tag(self, password: str) -> bytes:
        return hmac.new(self._secret, password.encode("utf-8"), hashlib.sha256).digest()

    async def matches(self, cp_id: str, password: str, stored: str | None) -> bool:
        """Whether ``password`` is the one ``stored`` hashes (cached once verified)."""
        if not stored:
            return False
        key = (cp_id, stored)
        known = self._verified.get(key)
        tag = self._tag(password)
        if known is not None:
            return hmac.compare_digest(known, tag)
        if is_fast(stored):
            ok = verify_password(password, stored)
        else:
            lock = self._account_locks.setdefault(cp_id, asyncio.Lock())
            self._users[cp_id] = self._users.get(cp_id, 0) + 1
            try:
                async with lock, self._slow:
                    known = self._verified.get(key)  # verified while we waited?
                    if known is not None:
                        return hmac.compare_digest(known, tag)
                    self.slow_checks += 1
                    ok = await asyncio.to_thread(verify_password, password, stored)
            finally:
                self._users[cp_id] -= 1
                if not self._users[cp_id]:  # nobody waits: drop the account's lock
                    del self._users[cp_id]
                    self._account_locks.pop(cp_id, None)
        if ok:
            self._verified[key] = tag
            while len(self._verified) > CACHE_SIZE:
                self._verified.popitem(last=False)
        return ok

    async def refuse(self, source: str, cp_id: str) -> None:
        """Count a failed attempt and wait out its back-off before the 401 goes out."""
        delay = self.backoff.failed(("src", source), ("cp", cp_id))
        if delay > 0:
            await asyncio.sleep(delay)

    def forget(self, cp_id: str) -> None:
        """Drop what is cached for ``cp_id`` (its password changed or it was removed)."""
        for key in [k for k in self._verified if k[0] == cp_id]:
            del self._verified[key]
