"""The form's signed nonces: what they carry, and that nothing else passes for one."""

import time
from datetime import UTC, datetime

import pytest

from survey.responses import nonces

TOKEN = "ABCDEFGHJK"


def test_a_nonce_carries_its_version_and_when_it_was_served():
    before = datetime.now(UTC)
    signed = nonces.issue("key", TOKEN, 7)
    verified = nonces.verify("key", TOKEN, signed, 60)
    assert verified.version_id == 7
    assert len(verified.nonce) == 22 and verified.nonce in signed
    assert before.timestamp() - 0.001 <= verified.issued_at.timestamp() <= time.time()


def test_each_nonce_is_new():
    assert len({nonces.verify("key", TOKEN, nonces.issue("key", TOKEN, 1), 60).nonce
                for _ in range(200)}) == 200  # fmt: skip


def test_a_form_given_back_counts_as_served_earlier():
    signed = nonces.issue("key", TOKEN, 1, age_seconds=30)
    served = nonces.verify("key", TOKEN, signed, 60).issued_at
    assert 29 < time.time() - served.timestamp() < 31


def _tampered(signed: str, part: int, value: str) -> str:
    parts = signed.split(".")
    parts[part] = value
    return ".".join(parts)


SIGNED = nonces.issue("key", TOKEN, 3)


#: Ids given: a random nonce in a test's name would differ between xdist workers.
NOT_OURS = {
    "empty": "",
    "dot": ".",
    "dots": "...",
    "word": "forged",
    "three parts": "1.2.3",
    "five parts": "1.2.3.4.5",
    "chinese": "数.字.随.机",
    "longer mac": SIGNED + "x",
    "shorter mac": SIGNED[:-1],
    "another version": _tampered(SIGNED, 0, "4"),
    "served later": _tampered(SIGNED, 1, str(int(SIGNED.split(".")[1]) + 5000)),
    "another nonce": _tampered(SIGNED, 2, "A" * 22),
    "another key": nonces.issue("another key", TOKEN, 3),
    "another site": nonces.issue("key", "ZZZZZZZZZZ", 3),
}


@pytest.mark.parametrize("signed", NOT_OURS.values(), ids=NOT_OURS.keys())
def test_only_our_own_nonce_for_this_site_passes(signed):
    with pytest.raises(nonces.NonceError):
        nonces.verify("key", TOKEN, signed, 60)


def test_an_old_nonce_has_expired():
    signed = nonces.issue("key", TOKEN, 3, age_seconds=61)
    with pytest.raises(nonces.NonceError):
        nonces.verify("key", TOKEN, signed, 60)
    assert nonces.verify("key", TOKEN, signed, 62).version_id == 3
