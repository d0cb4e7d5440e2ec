"""The seeded applications' dates agree with what a citizen reads: an application number carries
the day it was filed, and its time limit counts in working days from that day. Found by a cold
try of the demo: an application whose number was dated today showed "overdue by 2 days" (every
seeded number carried the seeding day, whatever its filing date)."""
from __future__ import annotations

import datetime as dt

import pytest

from hall_central import seed
from hall_central.clock import TZ, FixedClock, working_days_between
from hall_central.domain import Domain
from hall_central.stores import open_store

from .conftest import T0

TERMINAL = "ZM-T0001"


@pytest.fixture
def world(tmp_path):
    store = open_store(str(tmp_path / "central.db"))
    clock = FixedClock(start=T0)
    domain = Domain(store, clock)
    with store.transaction():
        domain.ensure_seeded()
        domain.new_day_if_needed()
    yield domain, store, clock
    store.close()


def _all_applications(domain: Domain, store) -> list[dict]:
    """Every seeded application (demo and synthetic) as a terminal sees it."""
    with store.transaction():
        nos = [r["application_no"] for r in store._all("SELECT application_no FROM applications")]
        return [domain._application_view(store.application(no)) for no in nos]


def _check_consistent(apps: list[dict], today: dt.date) -> None:
    for a in apps:
        filed = dt.datetime.fromisoformat(a["submitted_at"].replace("Z", "+00:00")).astimezone(TZ).date()
        number_day = dt.datetime.strptime(a["application_no"][2:10], "%Y%m%d").date()
        assert number_day == filed, (a["application_no"], a["submitted_at"])
        item = seed.item(a["item_code"])
        assert item is not None
        # the limit counts in working days from filing; what is left counts from today
        left = item["promised_days"] - working_days_between(filed, today)
        assert a["days_left"] == left, (a["application_no"], a["days_left"], left)
        if number_day == today:
            assert a["days_left"] >= 0 and a["flag"] != "red", a


def test_every_number_is_dated_the_day_its_application_was_filed(world):
    domain, store, clock = world
    apps = _all_applications(domain, store)
    _check_consistent(apps, clock.today())
    # the demo still shows one application of each flag (the seed's promise)
    mine = [a for a in apps if a["application_no"] in
            {seed.demo_application_no(k, clock.today()) for k in range(len(seed.DEMO_APPLICATIONS))}]
    assert len(mine) == len(seed.DEMO_APPLICATIONS)
    assert {a["flag"] for a in mine} == {"green", "yellow", "red"}


def test_a_new_hall_day_keeps_the_numbers_and_the_dates_together(world):
    domain, store, clock = world
    clock.set(dt.datetime.combine(T0.date() + dt.timedelta(days=1), dt.time(10, 5), TZ))
    with store.transaction():
        domain.new_day_if_needed()
    today = clock.today()
    apps = _all_applications(domain, store)
    _check_consistent(apps, today)
    for k in range(len(seed.DEMO_APPLICATIONS)):
        assert store.application(seed.demo_application_no(k, today)) is not None, k
