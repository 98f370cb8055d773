"""Where the CLI's log records go: everything to a file, to the console only what matters.

Libraries (pymodbus, werkzeug, websockets, python-can, pyftpdlib) log a lot that is
normal on a bench: a killed agent's Modbus connection, hex dumps, HTTP access lines.
The console shows the bench's own warnings (``bench up``) or errors (``bench run``,
whose cases report through their verdicts); ``-v`` shows every record of every logger
on the console too, ``-vv`` at debug level.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from bench.security.redact import CredentialFilter

OUR_LOGGERS = ("bench", "web", "firmware_image", "charger")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Ours(logging.Filter):
    """Records of the bench's own loggers, at ``level`` or above."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.split(".", 1)[0]
        return top in OUR_LOGGERS and record.levelno >= self.level


def setup(verbose: int, log_file: Path | None = None, quiet_level: int = logging.WARNING) -> None:
    """Configure the root logger for one CLI command; replaces earlier handlers."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    detail = logging.DEBUG if verbose >= 2 else logging.INFO
    root.setLevel(detail)
    console = logging.StreamHandler(sys.stderr)
    console.addFilter(CredentialFilter())  # first: the record is masked for every handler
    if verbose:
        console.setLevel(detail)
        console.setFormatter(logging.Formatter(FORMAT))
    else:
        console.addFilter(_Ours(quiet_level))
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setLevel(detail)
        to_file.setFormatter(logging.Formatter(FORMAT))
        to_file.addFilter(CredentialFilter())
        root.addHandler(to_file)
    logging.captureWarnings(True)
