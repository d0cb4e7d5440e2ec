"""Every text a citizen reads comes with its English: walk every record the reference central
service sends (the catalogue, the regions and halls, appointments, applications with their
four-level steps, check-in and booking answers) and fail on any Chinese field without English."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from hall_central import seed
from hall_central.clock import FixedClock
from hall_central.domain import Domain
from hall_central.stores import open_store
from kiosk.network import schemas

from .conftest import T0

#: Chinese characters, CJK punctuation and full-width forms: none of them belongs in English.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
TERMINAL = "ZM-T0001"


def gaps(node, path: str = "") -> list[str]:
    """Fields with Chinese text but no English beside them (``x`` needs a non-empty ``x_en``
    without Chinese; a list of texts needs an English list of the same length)."""
    out = []
    if isinstance(node, list):
        for i, v in enumerate(node):
            out += gaps(v, f"{path}[{i}]")
    elif isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else k
            texts = [v] if isinstance(v, str) else v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None
            if k.endswith("_en"):
                bad = [t for t in ([v] if isinstance(v, str) else v if isinstance(v, list) else []) if CJK.search(t)]
                out += [f"{here}: Chinese in the English: {t!r}" for t in bad]
            elif texts and any(CJK.search(t) for t in texts):
                en = node.get(f"{k}_en")
                english = [en] if isinstance(v, str) else en
                if not isinstance(english, list) or len(english) != len(texts) or not all(english):
                    out.append(f"{here}: {v!r} has no English ({k}_en = {en!r})")
            else:
                out += gaps(v, here)
    return out


def test_the_walker_finds_a_gap():
    assert gaps({"items": [{"name": "结婚登记", "name_en": "Marriage registration", "agency": "民政局", "agency_en": ""}]}) \
        == ["items[0].agency: '民政局' has no English (agency_en = '')"]
    assert gaps({"steps": ["受理", "办结"], "steps_en": ["Accepted"]})
    assert gaps({"q": "？", "q_en": "登记?"}) == ["q_en: Chinese in the English: '登记?'"]


def test_every_catalogue_record_has_english():
    cat = seed.catalogue()
    assert gaps({k: cat[k] for k in ("categories", "departments", "lines", "items")}) == []
    for it in cat["items"]:  # the guide's timeline: every level the item involves, bottom up
        assert [s["level"] for s in it["stages"]] == it["linkage"]["levels"], it["code"]
        assert sum(len(s["steps_en"]) for s in it["stages"]) == len(it["steps_en"]) > 0, it["code"]


def test_every_region_and_hall_has_english():
    assert gaps({k: v for k, v in seed.regions().items() if not k.startswith("_")}) == []  # _source: a note
    assert seed.region_name("410122", english=True) == "Zhongmou County"


@pytest.fixture
def world(tmp_path):
    store = open_store(str(tmp_path / "central.db"))
    domain = Domain(store, FixedClock(start=T0))
    with store.transaction():
        domain.ensure_seeded()
    yield domain, store
    store.close()


def _op(domain, store, op: str, body: dict) -> dict:
    with store.transaction():
        result = getattr(domain, "op_" + op.replace(".", "_"))(TERMINAL, body)
    schemas.validate_result(op, result)  # the contract requires the English fields
    return result


def _lookup(domain, store, card: dict) -> str:
    return _op(domain, store, "citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})["citizen_ref"]


def test_every_answer_that_names_an_item_or_an_office_has_english(world):
    domain, store = world
    cards = seed.demo_citizens()
    seen = 0
    for card in cards:
        ref = _lookup(domain, store, card)
        for app in _op(domain, store, "applications.list", {"citizen_ref": ref})["applications"]:
            assert gaps(app) == [], app["application_no"]
            assert app["current_agency_en"] and app["collect_at_en"]
            seen += 1
        for appt in _op(domain, store, "appointments.list", {"citizen_ref": ref})["appointments"]:
            assert gaps(appt) == []
            seen += 1
    day = (T0 + dt.timedelta(days=1)).date().isoformat()
    slot = _op(domain, store, "slots.list", {"item_code": "LL001", "date": day})["slots"][0]
    ref = _lookup(domain, store, cards[2])
    booked = _op(domain, store, "appointment.book", {"citizen_ref": ref, "item_code": "LL001", "slot_id": slot["slot_id"]})
    assert booked["item_name_en"] == "Senior citizen preferential card" and gaps(booked) == []
    listed = _op(domain, store, "appointments.list", {"citizen_ref": ref})["appointments"]
    assert [a["item_name_en"] for a in listed] == ["Senior citizen preferential card"] and gaps(listed) == []
    assert seen >= 4  # the demo citizens' applications (and appointments, when the demo day made them)
