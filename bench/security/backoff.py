"""Back-off for password guessing: the answer to a failed attempt waits, longer and longer.

Failures are counted per key: a source address (``("src", ip)``) and an account
(``("cp", id)``, ``("user", name)``). The first :attr:`Backoff.free` failures of a key
cost nothing; each further one doubles the wait before the refusal is sent (up to
:attr:`Backoff.cap`). A key forgets its failures after :attr:`Backoff.forget_s` without
one. Nothing is ever locked: the right password is accepted at once, whoever guessed
wrong before, so an attack on a charge point's account never keeps the charge point out
(it only makes the attacker's own answers slow).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

MAX_KEYS = 100_000  # forget the oldest keys beyond this: memory stays bounded


@dataclass
class Backoff:
    free: int = 5
    base: float = 1.0
    cap: float = 30.0
    forget_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[Hashable, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, *keys: Hashable) -> float:
        """Count a failure for every key; the seconds the refusal should wait."""
        now = self.clock()
        with self._lock:
            for key in keys:
                count, last = self._failures.pop(key, (0, now))
                if now - last > self.forget_s:
                    count = 0
                self._failures[key] = (count + 1, now)  # re-inserted: the newest last
            while len(self._failures) > MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))
        return self.delay(*keys)

    def delay(self, *keys: Hashable) -> float:
        """The wait a failure of these keys costs now (the largest of them)."""
        now = self.clock()
        worst = 0
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, now))
                if now - last <= self.forget_s:
                    worst = max(worst, count)
        if worst <= self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** (worst - self.free - 1))

    def failures(self, key: Hashable) -> int:
        count, last = self._failures.get(key, (0, 0.0))
        return count if self.clock() - last <= self.forget_s else 0
