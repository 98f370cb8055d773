"""A serial line's far end for a twin: one pseudo-terminal, raw, the driver on its slave.

The driver opens :attr:`PtyPort.device_path` exactly as it opens ``/dev/ttyS0`` on the
rig, so the agent process and the bench process share nothing but the pty.
"""

from __future__ import annotations

import errno
import logging
import os
import tty

log = logging.getLogger(__name__)


class PtyPort:
    """The twin's end of one pty: bytes written here arrive at the driver's device."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass untouched
        os.set_blocking(self.master, False)  # nobody reading must not block the twin
        self.device_path: str = os.ttyname(self._slave)
        self.closed = False

    def write(self, data: bytes) -> None:
        """Send ``data`` to the driver; dropped (not blocked on) if nobody reads it."""
        try:
            os.write(self.master, data)
        except BlockingIOError:
            log.debug("%s: pty buffer full, %d bytes dropped", self.name, len(data))
        except OSError as exc:
            if exc.errno not in (errno.EIO, errno.EBADF) or not self.closed:
                log.warning("%s: write failed: %s", self.name, exc)

    def close(self) -> None:
        self.closed = True
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
