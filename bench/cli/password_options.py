"""Passwords for the ``bench`` command without putting them on its command line.

A password in argv is visible to every user of the machine (``ps``, ``/proc/PID/cmdline``)
and stays in shell history; a lab keeps its rigs' passwords in an Ansible vault. So each
password option has two quiet forms: ``--X-file FILE`` (its first line, surrounding
whitespace stripped) and an environment variable (``BENCH_*_PASSWORD``, as the panel
hook's ``BENCH_PANEL_PASSWORD``). ``--X PW`` still works, with a one-line warning.
Exactly one source at a time: two is a refusal, not a silent preference.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from bench.cli.errors import EXIT_SECRET, EXIT_USAGE, UserError
from bench.security.redact import redact_argv

#: The longest first line read from a password file (a password is at most 40 characters).
MAX_LINE = 4096


@dataclass(frozen=True)
class PasswordOption:
    """One password a command takes: ``--NAME PW``, ``--NAME-file FILE`` or ``$ENV``."""

    name: str  # the option without its dashes: "password", "dut-password"
    env: str  # the environment variable: "BENCH_CP_PASSWORD"
    what: str  # what it is, for the help text: "the charge point's Basic-auth password"

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def file_flag(self) -> str:
        return f"--{self.name}-file"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def file_dest(self) -> str:
        return f"{self.dest}_file"

    def add_arguments(self, parser: argparse._ActionsContainer, when: str = "") -> None:
        """The two options (the variable is read by :meth:`resolve`); ``when`` ends the help."""
        suffix = f" ({when})" if when else ""
        parser.add_argument(
            self.file_flag,
            metavar="FILE",
            help=f"read {self.what} from the first line of FILE{suffix}; or set ${self.env}",
        )
        parser.add_argument(
            self.flag,
            metavar="PW",
            help=f"{self.what} on the command line, where other users of this machine see "
            f"it: prefer {self.file_flag} or ${self.env}",
        )

    def given(self, args: argparse.Namespace) -> list[str]:
        """The options of this password on the command line (the variable not counted)."""
        return [
            flag
            for flag, dest in ((self.flag, self.dest), (self.file_flag, self.file_dest))
            if getattr(args, dest, None) is not None
        ]

    def resolve(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str] | None = None,
        warn: TextIO | None = None,
    ) -> str | None:
        """The password from the one source given, or None when none is.

        :class:`UserError` (one line) for two sources, or a file or variable that gives
        no password; the legacy ``--NAME PW`` prints a warning on ``warn`` (stderr).
        """
        environ = os.environ if environ is None else environ
        sources = self.given(args) + ([f"${self.env}"] if self.env in environ else [])
        if len(sources) > 1:
            raise UserError(
                f"{self.what} is given {len(sources)} ways ({', '.join(sources)})",
                f"give exactly one of {self.file_flag} FILE, ${self.env} and {self.flag}",
                EXIT_USAGE,
            )
        if not sources:
            return None
        if sources[0] == self.file_flag:
            path = getattr(args, self.file_dest)
            password = self._read_file(path)
            _warn_if_others_read(path, self.file_flag, warn)
            return password
        if sources[0] == self.flag:
            print(
                f"bench: warning: {self.flag} shows the password to every user of this machine "
                f"(ps, shell history); use {self.file_flag} FILE or ${self.env} instead",
                file=warn or sys.stderr,
                flush=True,
            )
            return getattr(args, self.dest)
        value = environ[self.env].strip()
        if not value:
            raise UserError(
                f"${self.env} is set but empty",
                f"set it to the password, or unset it and give {self.file_flag} FILE",
                EXIT_SECRET,
            )
        return value

    def _read_file(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8") as handle:
                line = handle.readline(MAX_LINE)
        except FileNotFoundError:
            problem = "no such file"
        except OSError as exc:
            problem = f"cannot read it ({exc.strerror or type(exc).__name__})"
        except UnicodeDecodeError:
            problem = "not a UTF-8 text file"
        else:
            value = line.strip()
            if value:
                return value
            problem = "its first line is empty"
        raise UserError(
            f"{self.file_flag} {path}: {problem}",
            f"write {self.what} on the first line of a file only you can read",
            EXIT_SECRET,
        )


def _warn_if_others_read(path: str, flag: str, warn: TextIO | None) -> None:
    """A password file the group or everyone may read is used, with a one-line warning
    (as ssh says of a private key), so a lab sees it before another user does."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"bench: warning: {flag} {path} can be read by other users "
            f"(mode {stat.S_IMODE(mode):04o}); chmod 600 {path}",
            file=warn or sys.stderr,
            flush=True,
        )


#: ``bench up --csms``: the password our charger sends as Basic auth.
CP_PASSWORD = PasswordOption(
    "password", "BENCH_CP_PASSWORD", "the charge point's Basic-auth password"
)
#: ``bench run --dut``: the password at an external CSMS, or the external charger's.
DUT_PASSWORD = PasswordOption(
    "dut-password", "BENCH_DUT_PASSWORD", "the device under test's Basic-auth password"
)
#: ``bench csms add-cp`` / ``set-password``: a chosen password for our CSMS's registry.
CHOSEN_PASSWORD = PasswordOption(
    "password", "BENCH_CSMS_CP_PASSWORD", "a chosen password (16-40 characters)"
)
#: Options whose value is a secret: masked wherever a command line is shown or stored.
SECRET_FLAGS = (CP_PASSWORD.flag, DUT_PASSWORD.flag)


def shown_command(argv: list[str]) -> str:
    """``bench ARGS`` as a report records it: the legacy password options' values masked."""
    return " ".join(["bench", *redact_argv(argv, SECRET_FLAGS)])
