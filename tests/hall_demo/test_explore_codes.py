"""hall_demo.explore_codes: what the explorer scans is what it says it is, by the terminal's own check."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from hall_demo.explore_codes import Codes
from kiosk.trust import codes
from kiosk.trust.keys import verify_keyset

TZ = ZoneInfo("Asia/Shanghai")
HALL = "H410122203"
REGIONS = ("410100", "410122", "410122203")
NOW = dt.datetime(2026, 12, 3, 10, 5, tzinfo=TZ)


class FakeSim:
    """The two things Codes asks the demo sim: the seeded application numbers and the hall clock."""

    def application_no(self, k: int = 0) -> str:
        return f"SQ20261203410122{k + 1:04d}"

    def central_now(self):
        return NOW


@pytest.fixture()
def made(tmp_path):
    from hall_central.keys import CentralKeys
    from hall_central.stores import open_store
    keys = CentralKeys(tmp_path / "central-keys", now_s=NOW.timestamp() - 3600)
    store = open_store(str(tmp_path / "central.db"))
    with store.transaction():
        store.add_appointment({"appointment_id": "A-1", "citizen_ref": "C-1", "item_code": "LL001", "slot_id": "s",
                               "date": "2026-12-03", "start": "10:30", "end": "11:00", "window": "3", "hall": HALL,
                               "status": "booked", "created_at": "2026-12-03T01:00:00Z"})
    store.close()
    keyset = verify_keyset(keys.keyset(), keys._priv["root"].public_key())
    return Codes(FakeSim(), tmp_path, HALL, "Asia/Shanghai"), keyset


def _verify(text: str, keyset):
    return codes.verify_any(text, keyset, codes.scan_audiences(HALL, REGIONS), NOW.timestamp())


def test_valid_codes_pass_the_terminals_check(made):
    c, keyset = made
    for seed in range(30):
        text = c.valid(random.Random(seed))
        if text.startswith("KQ1:"):
            assert _verify(text, keyset).typ in (codes.CHECKIN, codes.RECEIPT)
        else:
            assert text.startswith("SQ")


@pytest.mark.parametrize("kind,reasons", [
    ("forged", {"bad_signature", "encoding", "malformed", "unknown_key", "wrong_type", "too_large", "format",
                "wrong_hall", "expired", "not_yet_valid"}),
    ("foreign", {"wrong_hall", "bad_signature"}),
    ("expired", {"expired"}),
])
def test_refused_codes_are_refused_for_the_reason_they_were_made(made, kind, reasons):
    c, keyset = made
    whys = set()
    for seed in range(30):
        with pytest.raises(codes.CodeRejected) as e:
            _verify(getattr(c, kind)(random.Random(seed)), keyset)
        whys.add(e.value.why)
    assert whys <= reasons
    if kind == "forged":
        assert "bad_signature" in whys   # most flipped bits land in the signature or the payload


def test_the_same_seed_makes_the_same_codes(made):
    c, _ = made
    a = [c.make(random.Random(5)) for _ in range(3)]
    b = [c.make(random.Random(5)) for _ in range(3)]
    assert [k for k, _ in a] == [k for k, _ in b]
    assert [t for k, t in a if k == "garbage"] == [t for k, t in b if k == "garbage"]
