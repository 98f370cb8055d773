"""Files only their owner may read: the bench's generated secrets and credentials.

Created with mode 0600 from the start (``O_EXCL``), never written world-readable and
chmod-ed afterwards, so no other user of the Pi can catch a secret in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600), replacing what was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The text kept in ``path``; made by ``make`` and kept (mode 0600) on first use."""
    if path.exists():
        return path.read_text()
    text = make()
    write_private(path, text)
    return text
