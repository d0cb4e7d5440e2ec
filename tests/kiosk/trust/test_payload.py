"""Classification table for scanned payloads, the token-verifier hook and masking in repr."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.trust import payload as P
from kiosk.trust.payload import Deduper, TokenRejected, b45decode, b45encode, classify

# A valid ID number built here (check character computed), never a real person's.
_ID17 = "41010219900307123"
ID_OK = _ID17 + P.id_check_char(_ID17)
ID_BAD_CHECK = _ID17 + ("0" if ID_OK[-1] != "0" else "1")
TOKEN_B64 = "KQ1:" + base64.urlsafe_b64encode(b"slot=42;hall=HALL-0001;sig=....").decode().rstrip("=")
TOKEN_B45 = "KQ1:" + b45encode(b"slot=42;hall=HALL-0001;sig=..")


@pytest.mark.parametrize("text, kind, reason_part", [
    (TOKEN_B64, P.APPOINTMENT, ""),
    (TOKEN_B45, P.APPOINTMENT, ""),
    ("KQ1:", P.UNKNOWN, "token"),
    ("KQ1:short", P.UNKNOWN, "token"),
    ("KQ1:" + "A" * 17, P.UNKNOWN, "base64url"),          # 17 chars: impossible base64 length
    ("KQ1:not base64 !!! <script>", P.UNKNOWN, "token"),
    ("KQ1:" + "a" * 2000, P.UNKNOWN, "token"),
    ("SQ20240101000001", P.APPLICATION_NUMBER, ""),
    ("SQ202611244101840001", P.APPLICATION_NUMBER, ""),  # as central/hall_central issues them
    ("ZZ202401010000000123", P.UNKNOWN, "no known format"),
    ("SQ2024010100001", P.UNKNOWN, "no known format"),    # 13 digits
    ("zz20240101000001", P.UNKNOWN, "no known format"),
    ("https://zwfw.example.gov.cn/apply?id=1", P.URL, ""),
    ("HTTP://EXAMPLE.COM", P.URL, ""),
    ("https://", P.UNKNOWN, "url"),
    ("https://host:99999/", P.UNKNOWN, "url"),
    ("javascript:alert(1)", P.UNKNOWN, "no known format"),
    ("ftp://example.com/x", P.UNKNOWN, "no known format"),
    (ID_OK, P.ID_NUMBER, ""),
    (ID_BAD_CHECK, P.UNKNOWN, "check character"),
    ("410102199002301234", P.UNKNOWN, "birth date"),     # 30 February
    ("410102180001011234", P.UNKNOWN, "birth date"),     # before 1900
    ("", P.UNKNOWN, "empty"),
    ("   ", P.UNKNOWN, "empty"),
    ("abc\x07def", P.UNKNOWN, "control"),
    ("x" * 5000, P.UNKNOWN, "too long"),
    ("中文文本", P.UNKNOWN, "no known format"),
])
def test_classification_table(text, kind, reason_part):
    p = classify(text)
    assert p.kind == kind, p
    assert reason_part in p.reason
    if kind != P.UNKNOWN:
        assert p.reason == ""


def test_non_text_is_unknown():
    assert classify(None).kind == P.UNKNOWN
    assert classify(b"bytes").reason == "not text"


def test_lowercase_x_id_number_is_normalised():
    id_x = next(s + P.id_check_char(s) for s in (f"1101051949123100{i}" for i in range(10))
                if P.id_check_char(s) == "X")
    assert classify(id_x.lower()).value == id_x


def test_url_with_userinfo_is_flagged():
    p = classify("https://zwfw.gov.cn@evil.example/login")
    assert p.kind == P.URL and p.detail["host"] == "evil.example" and p.detail["userinfo"]


def test_id_number_never_appears_in_repr_or_masked():
    p = classify(ID_OK)
    assert ID_OK not in repr(p) and ID_OK not in p.masked()
    assert p.masked() == ID_OK[:3] + "*" * 11 + ID_OK[-4:]


def test_token_verifier_hook_accepts_and_rejects():
    seen = []

    def verifier(token: str, raw: bytes) -> None:
        seen.append(raw)
        if b"slot=42" not in raw:
            raise TokenRejected("bad signature")
    P.set_token_verifier(verifier)
    try:
        ok = classify(TOKEN_B64)
        assert ok.kind == P.APPOINTMENT and ok.detail["verified"] is True
        forged = classify("KQ1:" + base64.urlsafe_b64encode(b"slot=99;forged-token").decode())
        assert forged.kind == P.UNKNOWN and "bad signature" in forged.reason
        assert seen[0].startswith(b"slot=42")
    finally:
        P.set_token_verifier(None)
    assert classify(TOKEN_B64).detail["verified"] is False


@given(st.binary(max_size=200))
def test_base45_round_trip(data):
    assert b45decode(b45encode(data)) == data


def test_base45_rejects_overflow_and_bad_length():
    assert b45decode("GGW") is None  # 65535 + 1 overflow
    assert b45decode("A") is None
    assert b45decode("abc") is None


@given(st.text(max_size=300))
def test_classify_never_raises(text):
    p = classify(text)
    assert p.kind in P.KINDS
    assert (p.kind == P.UNKNOWN) == bool(p.reason)


def test_deduper_sliding_window():
    d = Deduper(3.0)
    assert d.is_new("a", 0.0)
    assert not d.is_new("a", 2.0)
    assert not d.is_new("a", 4.5)   # seen at 2.0: still within 3 s
    assert d.is_new("a", 8.0)
    assert d.is_new("b", 8.0)
    d.clear()
    assert d.is_new("a", 8.1)
