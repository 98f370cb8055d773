"""The bench's secrets are made once and kept in files only their owner can read."""

from __future__ import annotations

import stat

from bench.security.private import kept_secret, write_private


def test_a_secret_is_made_once_and_kept_at_mode_0600(tmp_path):
    path = tmp_path / "deep" / "secret"
    made = []
    first = kept_secret(path, lambda: made.append(1) or "s3cret\n")
    again = kept_secret(path, lambda: made.append(1) or "other\n")
    assert first == again == "s3cret\n" and made == [1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_private_replaces_a_readable_file_with_a_private_one(tmp_path):
    path = tmp_path / "api.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
