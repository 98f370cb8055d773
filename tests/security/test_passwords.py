"""AuthorizationKey generation and hashing."""

import pytest

from bench.security.passwords import (
    ALPHABET,
    generate_password,
    hash_password,
    verify_password,
)


@pytest.mark.parametrize("length", [16, 32, 40])
def test_generated_key_has_length_and_alphabet(length):
    key = generate_password(length)
    assert len(key) == length
    assert set(key) <= set(ALPHABET)


@pytest.mark.parametrize("length", [15, 41])
def test_key_length_outside_whitepaper_range_is_refused(length):
    with pytest.raises(ValueError):
        generate_password(length)


def test_keys_are_random():
    assert generate_password() != generate_password()


def test_hash_verifies_only_the_password():
    key = generate_password()
    stored = hash_password(key)
    assert key not in stored
    assert stored != hash_password(key)  # salted
    assert verify_password(key, stored)
    assert not verify_password(key + "x", stored)
    assert not verify_password("", stored)


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2$3$!!$!!", "md5$a$b$c$d$e"])
def test_malformed_hash_never_verifies(stored):
    assert not verify_password("whatever-password", stored)
