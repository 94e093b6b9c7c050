"""Bearer tokens: round trip, expiry, tampering and malformed input."""

import pytest
from agent_chat.tokens import InvalidToken, TokenSigner

NOW = 1_700_000_000.0


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(b"secret", ttl_s=60)


def test_token_round_trip(signer: TokenSigner) -> None:
    token = signer.issue(42, now=NOW)

    assert signer.verify(token, now=NOW) == 42
    assert signer.verify(token, now=NOW + 59) == 42


def test_token_without_now_uses_clock(signer: TokenSigner) -> None:
    assert signer.verify(signer.issue(7)) == 7


def test_token_expires_after_ttl(signer: TokenSigner) -> None:
    token = signer.issue(42, now=NOW)

    with pytest.raises(InvalidToken, match="token expired"):
        signer.verify(token, now=NOW + 60)


def test_token_other_secret_rejected(signer: TokenSigner) -> None:
    token = TokenSigner(b"other", ttl_s=60).issue(42, now=NOW)

    with pytest.raises(InvalidToken, match="signature"):
        signer.verify(token, now=NOW)


@pytest.mark.parametrize("part", [1, 2])
def test_token_tampered_payload_rejected(signer: TokenSigner, part: int) -> None:
    parts = signer.issue(42, now=NOW).split(".")
    parts[part] = str(int(parts[part]) + 1)

    with pytest.raises(InvalidToken, match="signature"):
        signer.verify(".".join(parts), now=NOW)


def test_token_tampered_signature_rejected(signer: TokenSigner) -> None:
    token = signer.issue(42, now=NOW)
    last = "A" if token[-1] != "A" else "B"

    with pytest.raises(InvalidToken, match="signature"):
        signer.verify(token[:-1] + last, now=NOW)


def test_token_non_ascii_signature_rejected(signer: TokenSigner) -> None:
    token = signer.issue(42, now=NOW)

    with pytest.raises(InvalidToken, match="signature"):
        signer.verify(token[:-1] + "é", now=NOW)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "v1.1.2",
        "v1.1.2.sig.extra",
        "v2.1.9999999999.sig",
        "v1.x.9999999999.sig",
        "v1.1.-5.sig",
        "v1.\u0661.9999999999.sig",
        "v1." + "9" * 21 + ".1.sig",
        "v1.1.1." + "a" * 300,
    ],
)
def test_token_malformed_rejected(signer: TokenSigner, token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        signer.verify(token, now=NOW)
