"""Panel users: a file in the state directory, hashed passwords, roles, the CLI."""

from __future__ import annotations

import io
import json
import stat

import pytest

from web.users import UserStore, add_user, main, users_file


def test_add_user_stores_only_a_hash_in_a_private_file(tmp_path):
    path = add_user(tmp_path, "olga", "correct horse", "operator")
    assert path == tmp_path / "web" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "correct horse" not in text
    entry = json.loads(text)["users"]["olga"]
    assert entry["role"] == "operator"
    assert entry["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    store = UserStore(path)
    assert store.verify("olga", "correct horse") == {"name": "olga", "role": "operator"}
    assert store.verify("olga", "wrong horse") is None
    assert store.verify("nobody", "correct horse") is None


def test_changing_a_user_is_seen_without_a_restart(tmp_path):
    store = UserStore(users_file(tmp_path))
    assert store.get("olga") is None
    add_user(tmp_path, "olga", "first-password", "viewer")
    assert store.get("olga")["role"] == "viewer"
    add_user(tmp_path, "olga", "second-password", "operator")
    assert store.get("olga")["role"] == "operator"
    assert store.verify("olga", "first-password") is None
    assert store.remove("olga") and store.get("olga") is None


@pytest.mark.parametrize(
    ("name", "password", "role"),
    [
        ("olga", "short", "operator"),
        ("olga", "long enough", "admin"),
        ("bad name", "long enough", "viewer"),
    ],
)
def test_bad_users_are_refused(tmp_path, name, password, role):
    with pytest.raises(ValueError):
        add_user(tmp_path, name, password, role)


def test_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    code = main(
        ["add", "olga", "--role", "operator", "--state-dir", str(tmp_path), "--password-stdin"]
    )
    assert code == 0
    assert UserStore(users_file(tmp_path)).verify("olga", "a long password")
    assert main(["list", "--state-dir", str(tmp_path)]) == 0
    assert "olga" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["add", "x", "--state-dir", str(tmp_path), "--password-stdin"]) == 2
