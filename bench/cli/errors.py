"""What the CLI says when the input is wrong: one line, what to do, a distinct exit status.

Commands raise :class:`UserError` (or let a known exception through); :func:`explain`
turns anything into that one line and status. Only ``-v`` shows a traceback.
"""

from __future__ import annotations

import errno
import tomllib

from bench.rigfile import RigFileError
from bench.statedir import StateDirError

# Exit statuses, one per kind of trouble (the non-usage ones follow BSD sysexits.h).
EXIT_FAILED = 1  # bench run: a case failed or erred
EXIT_USAGE = 2  # a bad command line (argparse uses 2 as well)
EXIT_INCONCLUSIVE = 3  # bench run: nothing failed, but a case could not be judged (host too busy)
EXIT_RIG_SYNTAX = 65  # the rig file is not TOML (EX_DATAERR)
EXIT_RIG_MISSING = 66  # the rig file does not exist (EX_NOINPUT)
EXIT_SECRET = 67  # a password file or variable gives no password (66 is taken by the rig file)
EXIT_PORT_IN_USE = 69  # a port the bench must listen on is taken (EX_UNAVAILABLE)
EXIT_INTERNAL = 70  # a bug in the bench (EX_SOFTWARE)
EXIT_STATE_NOT_DIR = 73  # the state directory cannot be created (EX_CANTCREAT)
EXIT_STATE_READ_ONLY = 74  # the state directory is on a read-only file system (EX_IOERR)
EXIT_STATE_NO_PERMISSION = 77  # the state directory is not writable for us (EX_NOPERM)
EXIT_RIG_INVALID = 78  # the rig file is TOML but not a rig (EX_CONFIG)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

EXIT_STATUSES = {
    EXIT_FAILED: "a scenario failed",
    EXIT_USAGE: "bad command line",
    EXIT_INCONCLUSIVE: "a scenario was inconclusive: the host could not keep up",
    EXIT_RIG_SYNTAX: "rig file is not valid TOML",
    EXIT_RIG_MISSING: "rig file not found",
    EXIT_SECRET: "password file missing, unreadable or empty (or its variable empty)",
    EXIT_PORT_IN_USE: "a port is in use",
    EXIT_INTERNAL: "internal error (-v shows the traceback)",
    EXIT_STATE_NOT_DIR: "state directory cannot be created",
    EXIT_STATE_READ_ONLY: "state directory on a read-only file system",
    EXIT_STATE_NO_PERMISSION: "state directory not writable",
    EXIT_RIG_INVALID: "rig file has a wrong key or value",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


_FILE_STATUS = {  # a file the command was told to write (--json, --report, --state-dir)
    errno.ENOTDIR: EXIT_STATE_NOT_DIR,
    errno.ENOENT: EXIT_STATE_NOT_DIR,
    errno.EISDIR: EXIT_STATE_NOT_DIR,
    errno.EROFS: EXIT_STATE_READ_ONLY,
    errno.EACCES: EXIT_STATE_NO_PERMISSION,
    errno.EPERM: EXIT_STATE_NO_PERMISSION,
}


class UserError(Exception):
    """Input the person at the keyboard can fix: ``problem; remedy`` and an exit status."""

    def __init__(self, problem: str, remedy: str = "", status: int = EXIT_USAGE) -> None:
        super().__init__(problem)
        self.problem = problem
        self.remedy = remedy
        self.status = status

    def line(self) -> str:
        return f"bench: {self.problem}" + (f"; {self.remedy}" if self.remedy else "")


def port_in_use(port: int, what: str, option: str) -> UserError:
    return UserError(
        f"port {port} ({what}) is already in use on 127.0.0.1",
        f"stop what listens there or choose another with {option}",
        EXIT_PORT_IN_USE,
    )


def explain(exc: BaseException) -> UserError:
    """The one line and exit status for ``exc``; unknown errors are internal errors."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, RigFileError):
        status = {
            "missing": EXIT_RIG_MISSING,
            "syntax": EXIT_RIG_SYNTAX,
        }.get(exc.kind, EXIT_RIG_INVALID)
        return UserError(str(exc), exc.remedy, status)
    if isinstance(exc, StateDirError):
        status = {
            errno.EROFS: EXIT_STATE_READ_ONLY,
            errno.EACCES: EXIT_STATE_NO_PERMISSION,
            errno.EPERM: EXIT_STATE_NO_PERMISSION,
        }.get(exc.errno or 0, EXIT_STATE_NOT_DIR)
        return UserError(str(exc), "choose another with --state-dir", status)
    if isinstance(exc, tomllib.TOMLDecodeError):
        return UserError(f"not valid TOML: {exc}", "fix the file", EXIT_RIG_SYNTAX)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return UserError(
            f"a port is already in use: {exc.strerror}",
            "choose other ports (--port, --panel-port)",
            EXIT_PORT_IN_USE,
        )
    if isinstance(exc, OSError) and exc.filename is not None and exc.errno in _FILE_STATUS:
        return UserError(
            f"cannot write {exc.filename}: {exc.strerror}",
            "choose a path you can write to",
            _FILE_STATUS[exc.errno],
        )
    return UserError(
        f"internal error: {type(exc).__name__}: {exc}",
        "run again with -v for the traceback and report it",
        EXIT_INTERNAL,
    )
