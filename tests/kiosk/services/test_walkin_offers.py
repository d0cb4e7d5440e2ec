"""The walk-in lines as offered to the citizen at the terminal (services.walkin.offers), on real
parts: the 老年人优先 line (the catalogue's min_age) only for an identified citizen of its age and of
the terminal's runtime.elder_age, asked for the ID card when nobody is identified, and told why
not otherwise; the central service refuses what the terminal does not offer."""
from __future__ import annotations

import datetime as dt

import pytest

from hall_central.seed import demo_citizens
from kiosk.network.errors import Rejected
from kiosk.services.session import Citizen

pytestmark = pytest.mark.integration

#: Demo citizens: 0 born 1981, 1 born 1958 (68 on the fixtures' day).
YOUNG, ELDER = 0, 1


def _offer(s, code: str = "G", lang: str = "zh_CN") -> dict:
    return next(ln for ln in s.walkin.offers(lang) if ln["code"] == code)


def _card(n: int) -> Citizen:
    c = demo_citizens()[n]
    return Citizen(id_number=c["id_number"], name=c["name"], source="idcard",
                   birth_date=dt.date.fromisoformat(c["birth_date"]))


def test_the_priority_line_is_offered_only_to_whom_it_is_for(stack):
    rt, _, _ = stack
    s = rt.services
    g = _offer(s)
    assert (g["offer"], g["age"], g["name"]) == ("identify", 60, "老年人优先")
    assert _offer(s, "G", "en")["name"] == "Priority for older people"
    assert all(ln["offer"] == "open" for ln in s.walkin.offers() if ln["code"] != "G")
    with pytest.raises(Rejected) as e:   # nobody identified: the central service refuses it too
        s.walkin.take("G")
    assert e.value.error_code == "forbidden"

    s.sessions.begin(_card(YOUNG))
    assert _offer(s)["offer"] == "age"
    with pytest.raises(Rejected):
        s.walkin.take("G")
    assert s.walkin.take("A")["line"] == "A"
    s.sessions.end()

    assert s.sessions.begin_keypad(demo_citizens()[ELDER]["id_number"]) == ""  # a typed number
    assert _offer(s)["offer"] == "card"
    s.sessions.end()

    s.sessions.begin(_card(ELDER))
    assert _offer(s)["offer"] == "open"
    assert s.walkin.take("G")["line"] == "G"


def test_the_terminals_elder_age_applies_when_higher(stack):
    rt, _, _ = stack
    s = rt.services
    s.sessions.elder_age = 70   # runtime.elder_age of this terminal
    s.sessions.begin(_card(ELDER))   # 68
    g = _offer(s)
    assert (g["offer"], g["age"]) == ("age", 70)
