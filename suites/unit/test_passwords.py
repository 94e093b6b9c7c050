"""Password hashes: verification, salts, unusable and malformed hashes."""

import pytest
from agent_chat.passwords import UNUSABLE_PASSWORD, dummy_hash, hash_password, verify_password


def test_hash_verifies_only_its_password() -> None:
    encoded = hash_password("s3cret")

    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret ", encoded)


def test_hash_uses_fresh_salt() -> None:
    assert hash_password("same") != hash_password("same")


def test_unusable_hash_never_matches() -> None:
    assert not verify_password("", UNUSABLE_PASSWORD)
    assert not verify_password("!", UNUSABLE_PASSWORD)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "bcrypt$1$2$3$4$5",
        "scrypt$abc$8$1$AAAA$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$A$AAAA",
    ],
)
def test_malformed_hash_never_matches(encoded: str) -> None:
    assert not verify_password("anything", encoded)


def test_dummy_hash_is_cached_and_valid() -> None:
    assert dummy_hash() == dummy_hash()
    assert dummy_hash().startswith("scrypt$")
