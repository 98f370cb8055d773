"""idTags and their authorization status."""

from __future__ import annotations

from typing import Any

from bench.csms.store.base import Database


class IdTagRows(Database):
    def put_id_tag(
        self, id_tag: str, status: str, expiry_date: str | None, parent_id_tag: str | None
    ) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO id_tags VALUES (?, ?, ?, ?)",
                (id_tag, status, expiry_date, parent_id_tag),
            )

    def id_tag(self, id_tag: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM id_tags WHERE id_tag = ?", (id_tag,))

    def id_tags(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM id_tags ORDER BY id_tag")
