"""kiosk.screens.mobile.overview: what the staff member reads about a citizen (no Kivy, no network:
the services are the tiny stand-ins below, answering in the central contract's shapes)."""
from __future__ import annotations

import datetime as dt

from kiosk.screens.mobile import overview


def tr(s: str) -> str:
    return s


APP = {"application_no": "SQ202611244101840002", "item_name": "独生子女父母退休奖励扶助金发放", "status": "in_progress",
       "flag": "yellow", "days_left": 2, "current_agency": "新郑市卫健委",
       "steps": [{"level": "village", "status": "done"}, {"level": "township", "status": "done"},
                 {"level": "county", "status": "current"}]}


def test_timeline_marks_each_level_in_order():
    assert overview.timeline_text(APP) == "村✓ → 乡✓ → 县● → 市—"
    assert overview.timeline_text({"steps": [{"level": "city", "status": "pending"}]}) == "村— → 乡— → 县— → 市○"


def test_application_text_has_number_days_left_and_flag():
    text = overview.application_text(APP, tr)
    assert APP["application_no"] in text and "2 working days left" in text and "flag: yellow" in text
    assert "overdue by 3 days" in overview.days_text({"days_left": -3}, tr)
    assert overview.days_text({"status": "done", "days_left": -9}, tr) == "finished"
    # 0 and 1 in their own words (a cold try read "0 working days left" on the kiosk's screen)
    assert overview.days_text({"days_left": 0}, tr) == "due today"
    assert overview.days_text({"days_left": 1}, tr) == "1 working day left"


class _Checkin:
    def __init__(self, appts, today):
        self.appts, self.today, self.asked = appts, today, 0

    def appointments(self):
        self.asked += 1
        return self.appts

    def appointments_today(self):
        return [a for a in self.appts if a["date"] == self.today.isoformat()]


class _Progress:
    def my_applications(self):
        return [APP]


class _Services:
    def __init__(self, appts, today):
        self.progress, self.checkin = _Progress(), _Checkin(appts, today)


def test_fetch_splits_today_from_upcoming_and_drops_closed_ones():
    today = dt.date(2026, 11, 24)
    appts = [{"date": "2026-11-24", "start": "10:00", "status": "booked"},
             {"date": "2026-11-27", "start": "09:00", "status": "booked"},
             {"date": "2026-11-25", "start": "14:00", "status": "booked"},
             {"date": "2026-11-26", "start": "09:00", "status": "cancelled"},
             {"date": "2026-11-20", "start": "09:00", "status": "missed"}]
    services = _Services(appts, today)
    ov = overview.fetch(services, today)
    assert ov.applications == [APP]
    assert [a["date"] for a in ov.today] == ["2026-11-24"]
    assert [a["date"] for a in ov.upcoming] == ["2026-11-25", "2026-11-27"]
    assert services.checkin.asked == 1
