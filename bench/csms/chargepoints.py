"""The charge-point registry a person drives: add, remove, re-key, import, idTags.

Mixed into ``CentralSystem``; the HTTP API (:mod:`bench.csms.http_api`), ``bench csms add-cp``
and the panel's registry page all call these methods. The CSMS keeps only hashes: a
password it generates (:func:`bench.security.passwords.generate_password`, 32 characters)
is returned once and stored as a fast HMAC (a guess at 190 bits is hopeless whatever the
hash costs), a password a person chose is stored as scrypt. Hashing a chosen password
takes tens of milliseconds, so :func:`hash_records` runs in the caller's thread (the
API's), never on the event loop; storing is one transaction for any number of rows.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.security.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    fast_hash,
    generate_password,
    hash_password,
)

if TYPE_CHECKING:
    from bench.csms.credentials import CredentialChecker
    from bench.csms.store import Store

LOG = logging.getLogger(__name__)

#: A charge point id: the last path segment of its URL (OCPP-J), CiString48-sized.
CP_ID = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=-]{1,48}$")
PROFILES = (1, 2, 3)
ID_TAG_STATUSES = ("Accepted", "Blocked", "Expired", "Invalid")


class RegistryError(ValueError):
    """A registry request that cannot be done as given (HTTP 400); the message says why."""

    status = 400


class NotRegistered(RegistryError):
    status = 404


class AlreadyRegistered(RegistryError):
    status = 409


@dataclass(frozen=True)
class Record:
    """A charge point ready to store: its hash, and the generated password to show once."""

    cp_id: str
    profile: int
    password_hash: str | None
    generated: str | None = None


def check_id(cp_id: str) -> str:
    if not isinstance(cp_id, str) or not CP_ID.match(cp_id):
        raise RegistryError(
            f"not a charge point id: {cp_id!r} (1-48 characters, no '/', space or '%')"
        )
    return cp_id


def check_profile(profile: Any) -> int:
    try:
        value = int(profile)
    except (TypeError, ValueError):
        value = 0
    if value not in PROFILES:
        raise RegistryError(f"security profile must be 1, 2 or 3, not {profile!r}")
    return value


def make_record(cp_id: str, profile: Any = 2, password: str | None = None) -> Record:
    """Validate and hash one charge point (scrypt for a chosen password: call off-loop)."""
    check_id(cp_id)
    level = check_profile(profile)
    if level == 3:
        if password:
            raise RegistryError(f"{cp_id}: profile 3 authenticates by certificate, no password")
        return Record(cp_id, 3, None)
    if password:
        if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
            raise RegistryError(
                f"{cp_id}: a password has {MIN_LENGTH}-{MAX_LENGTH} characters "
                "(the whitepaper's AuthorizationKey)"
            )
        return Record(cp_id, level, hash_password(password))
    generated = generate_password()
    return Record(cp_id, level, fast_hash(generated), generated)


def hash_records(rows: Iterable[dict[str, Any]], default_profile: int = 2) -> list[Record]:
    """Records from rows with ``id`` and optional ``profile``, ``password``; line numbers
    in errors count from 1 (after a CSV header, as a spreadsheet shows them)."""
    out: list[Record] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        cp_id = str(row.get("id") or "").strip()
        try:
            if cp_id in seen:
                raise RegistryError(f"{cp_id} appears twice")
            seen.add(cp_id)
            out.append(
                make_record(
                    cp_id,
                    row.get("profile") or default_profile,
                    (row.get("password") or "").strip() or None,
                )
            )
        except RegistryError as exc:
            raise RegistryError(f"line {n}: {exc}") from None
    return out


def parse_csv(text: str) -> list[dict[str, str]]:
    """CSV with a header naming ``id`` and optionally ``profile``, ``password``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if "id" not in fields:
        raise RegistryError("the CSV needs a header line with an 'id' column")
    unknown = fields - {"id", "profile", "password"}
    if unknown:
        raise RegistryError(f"unknown CSV column(s) {sorted(unknown)}: id, profile, password")
    return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader]


def credentials_csv(records: Iterable[Record]) -> str:
    """``id,profile,password`` for the generated passwords (to configure the chargers)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "profile", "password"])
    for r in records:
        writer.writerow([r.cp_id, r.profile, r.generated or ""])
    return out.getvalue()


class ChargePointRegistry:
    """Registry writes on the CSMS (event loop thread: the store is not shared)."""

    store: Store
    credentials: CredentialChecker

    if TYPE_CHECKING:  # given by CentralSystem

        @property
        def main_profile(self) -> int: ...

    def store_records(self, records: list[Record], *, replace: bool = False) -> list[str]:
        """Store hashed records in one transaction; the ids. ``replace`` False: an id that
        is registered already is an error and nothing is stored."""
        db = self.store.connection
        ids = [r.cp_id for r in records]
        if not replace:
            taken = [
                row[0]
                for chunk in _chunks(ids, 500)
                for row in db.execute(
                    f"SELECT id FROM charge_points WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            ]
            if taken:
                raise AlreadyRegistered(f"already registered: {', '.join(sorted(taken)[:10])}")
        with db:
            db.executemany(
                "INSERT INTO charge_points (id, password_hash) VALUES (?, ?) ON CONFLICT (id) "
                "DO UPDATE SET password_hash = excluded.password_hash",
                [(r.cp_id, r.password_hash) for r in records],
            )
            db.executemany(
                "INSERT INTO cp_security (cp_id, profile) VALUES (?, ?) ON CONFLICT (cp_id) DO "
                "UPDATE SET profile = excluded.profile, pending_profile = NULL, "
                "pending_hash = NULL",
                [(r.cp_id, r.profile) for r in records],
            )
        for cp_id in ids:
            self.credentials.forget(cp_id)
        return ids

    def disconnect_charge_point(self, cp_id: str) -> None:
        """Close a removed charge point's connection (given by ``CentralSystem``)."""

    def add_charge_point(
        self, cp_id: str, profile: int | None = None, password: str | None = None
    ) -> str | None:
        """Register one charge point (profile default: the main port's); the generated
        password (shown once) or None."""
        record = make_record(cp_id, profile or self.main_profile, password)
        self.store_records([record])
        return record.generated

    def set_password(self, cp_id: str, password: str | None = None) -> str | None:
        """A new Basic-auth password (generated when None); the generated one or None."""
        current = self.store.security(cp_id)
        if self.store.charge_point(cp_id) is None:
            raise NotRegistered(f"no charge point {cp_id!r} is registered")
        profile = current["profile"] if current else 2
        if profile == 3:
            raise RegistryError(f"{cp_id} uses profile 3 (certificates): it has no password")
        record = make_record(cp_id, profile, password)
        self.store_records([record], replace=True)
        return record.generated

    def remove_charge_point(self, cp_id: str) -> None:
        """Forget a charge point (its history of transactions stays)."""
        db = self.store.connection
        with db:
            cur = db.execute("DELETE FROM charge_points WHERE id = ?", (cp_id,))
        if cur.rowcount == 0:
            raise NotRegistered(f"no charge point {cp_id!r} is registered")
        self.store.remove_security(cp_id)
        self.credentials.forget(cp_id)
        self.disconnect_charge_point(cp_id)

    def set_security_profile(self, cp_id: str, profile: int) -> None:
        """The profile ``cp_id`` must connect with from now on (any direction: the
        registry is the operator's, the OCPP upgrade goes through ChangeConfiguration)."""
        if self.store.charge_point(cp_id) is None:
            raise NotRegistered(f"no charge point {cp_id!r} is registered")
        self.store.set_security_profile(cp_id, check_profile(profile))
        self.disconnect_charge_point(cp_id)

    def remove_id_tag(self, id_tag: str) -> None:
        db = self.store.connection
        with db:
            cur = db.execute("DELETE FROM id_tags WHERE id_tag = ?", (id_tag,))
        if cur.rowcount == 0:
            raise NotRegistered(f"no idTag {id_tag!r}")

    def registry(self) -> list[dict[str, Any]]:
        """Every charge point with its profile (no hashes)."""
        security = self.store.all_security()
        rows = self.store.connection.execute(
            "SELECT id, password_hash IS NOT NULL, last_boot_ts, last_heartbeat_ts "
            "FROM charge_points ORDER BY id"
        )
        return [
            {
                "id": cp_id,
                "profile": (security.get(cp_id) or {}).get("profile"),
                "has_password": bool(has_password),
                "pending_key": bool((security.get(cp_id) or {}).get("pending_hash")),
                "last_boot_ts": boot,
                "last_heartbeat_ts": beat,
            }
            for cp_id, has_password, boot, beat in rows
        ]


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
