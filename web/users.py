"""The panel's users: a JSON file in the state directory, passwords hashed.

``STATE/web/users.json`` (mode 0600) maps each user name to its role and a
werkzeug password hash (scrypt); no password is ever stored. Roles:

* ``operator``: runs scenarios, controls the rig, sends OCPP operations;
* ``viewer``: watches only.

``bench user add NAME --role operator`` calls :func:`add_user`; the same is
``python -m web.users add NAME --role operator --state-dir bench-state``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("operator", "viewer")
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
# Checked against when a name is unknown, so a wrong name costs what a wrong password does.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def users_file(state_dir: str | Path) -> Path:
    return Path(state_dir) / "web" / "users.json"


class UserStore:
    """Reads the users file on every look-up that finds it changed (adds need no restart)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: tuple[int, int, int] | None = None
        self._users: dict[str, dict[str, Any]] = {}

    def _load(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            try:
                st = self.path.stat()
                mtime = (st.st_mtime_ns, st.st_ino, st.st_size)
            except FileNotFoundError:
                self._mtime, self._users = None, {}
                return self._users
            if mtime != self._mtime:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._users = dict(data.get("users", {}))
                self._mtime = mtime
            return self._users

    def get(self, name: str) -> dict[str, Any] | None:
        """``{"name", "role"}`` of an existing user, else None."""
        user = self._load().get(name)
        if user is None or user.get("role") not in ROLES:
            return None
        return {"name": name, "role": user["role"]}

    def names(self) -> list[str]:
        return sorted(self._load())

    def verify(self, name: str, password: str) -> dict[str, Any] | None:
        """The user if ``password`` is theirs, else None (same cost either way)."""
        user = self._load().get(name)
        stored = user.get("password_hash") if user else None
        ok = check_password_hash(stored or _DUMMY_HASH, password)
        return self.get(name) if ok and stored else None

    def put(self, name: str, password: str, role: str) -> None:
        """Add a user or replace its password and role."""
        if not NAME.match(name):
            raise ValueError("user names are 1-64 letters, digits or _ . @ -")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
        users = dict(self._load())
        users[name] = {"role": role, "password_hash": generate_password_hash(password)}
        self._write(users)

    def remove(self, name: str) -> bool:
        users = dict(self._load())
        if users.pop(name, None) is None:
            return False
        self._write(users)
        return True

    def _write(self, users: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"users": users}, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


def add_user(state_dir: str | Path, name: str, password: str, role: str = "viewer") -> Path:
    """Add (or update) a panel user in ``STATE/web/users.json``; returns the file.

    Raises ValueError for a bad name, role or a password shorter than 8 characters.
    """
    path = users_file(state_dir)
    UserStore(path).put(name, password, role)
    return path


USAGE = """Panel users live in STATE/web/users.json (mode 0600) with scrypt password hashes.
Roles: operator (runs scenarios, controls the rig, sends OCPP operations) and viewer
(watches only). Example: bench user add olga --role operator"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``add``/``remove``/``list`` commands, for ``bench user`` and ``python -m web.users``."""
    sub = parser.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    state_help = "the bench's state directory (default: bench-state)"
    add = sub.add_parser(
        "add", help="add a panel user or change its password and role", description=USAGE
    )
    add.add_argument("name", help="user name: letters, digits, _ . @ -")
    add.add_argument("--role", choices=ROLES, default="viewer", help="default: viewer")
    add.add_argument("--state-dir", default="bench-state", help=state_help)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    remove = sub.add_parser("remove", help="remove a panel user")
    remove.add_argument("name", help="the user to remove")
    remove.add_argument("--state-dir", default="bench-state", help=state_help)
    listing = sub.add_parser("list", help="list the panel users and their roles")
    listing.add_argument("--state-dir", default="bench-state", help=state_help)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Carry out a parsed ``add``/``remove``/``list``; returns the exit status."""
    store = UserStore(users_file(args.state_dir))
    if args.user_command == "list":
        for name in store.names():
            user = store.get(name)
            print(f"{name:24} {user['role'] if user else '?'}")
        return 0
    if args.user_command == "remove":
        if not store.remove(args.name):
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 1
    try:
        path = add_user(args.state_dir, args.name, password, args.role)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{args.name} ({args.role}) saved in {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m web.users add NAME [--role operator] [--state-dir bench-state]``."""
    parser = argparse.ArgumentParser(prog="python -m web.users", description=USAGE)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
