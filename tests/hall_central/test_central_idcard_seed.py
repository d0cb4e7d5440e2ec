"""GB 11643 check digits and the deterministic seed data."""
from __future__ import annotations

import datetime as dt

from hall_central import idcard, seed
from kiosk.network import schemas


def test_check_digit_known_example():
    # The worked example of GB 11643-1999 appendix: 11010519491231002 -> X
    assert idcard.check_digit("11010519491231002") == "X"
    assert idcard.is_valid("11010519491231002X")
    assert not idcard.is_valid("110105194912310021")
    assert not idcard.is_valid("110105194902310020")  # 31 Feb is not a date


def test_every_seeded_number_is_valid_and_sex_matches():
    people = seed.demo_citizens() + [seed.synthetic_citizen(i) for i in range(0, 50_000, 997)]
    for p in people:
        assert idcard.is_valid(p["id_number"]), p["id_number"]
        assert idcard.sex_of(p["id_number"]) == p["sex"]


def test_synthetic_numbers_round_trip():
    for i in (0, 1, 999, 1000, 123_456, 9_999_999):
        assert seed.synthetic_index(seed.synthetic_citizen(i)["id_number"]) == i
    assert seed.synthetic_index(seed.demo_citizens()[0]["id_number"]) is None


def test_demo_citizens_fit_the_demo():
    d = seed.demo_citizens()
    assert len(d) == 3
    age = lambda c: (dt.date(2026, 6, 1) - dt.date.fromisoformat(c["birth_date"])).days // 365  # noqa: E731
    assert d[0]["sex"] == "F" and 43 <= age(d[0]) <= 47
    assert 66 <= age(d[1]) <= 70
    assert set(d[0]) >= {"id_number", "name", "sex", "nation", "birth_date", "address", "authority",
                         "valid_from", "valid_to"}


def test_catalogue_is_complete_and_valid():
    cat = seed.catalogue()
    assert len(cat["categories"]) == 15 and len(cat["items"]) >= 40
    names = {i["name"] for i in cat["items"]}
    for must in ("残疾人证核发", "民族成分变更", "最低生活保障待遇认定", "城市公共租赁住房保障",
                 "独生子女父母退休奖励扶助金发放", "老年优待证办理", "老年公交卡办理"):
        assert must in names
    assert sum(i["linkage"]["four_level"] for i in cat["items"]) >= 8
    schemas.validate_result("catalogue.sync", {"version": 1, "unchanged": False,
                                               **{k: cat[k] for k in ("categories", "departments", "lines", "items")}})
    codes = {r["code"] for r in seed.regions()["counties"]}
    assert {"410102", "410103", "410104", "410105", "410122", "410181", "410182", "410183", "410184",
            "410185"} <= codes
