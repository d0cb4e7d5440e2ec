"""Where an appointment's check-in window stands (kiosk.services.checkin.CheckinService.window): the
central service sends the window (checkin_from / checkin_until); the service alone holds it against
the terminal's clock (the check-in screen once compared the times itself)."""
import datetime as dt

import pytest

from kiosk.clock import FakeClock
from kiosk.services.checkin import EARLY, LATE, OPEN, CheckinService

APPT = {"appointment_id": "A1", "start": "10:00", "checkin_from": "09:30", "checkin_until": "10:15"}


@pytest.mark.parametrize("hhmm, expect", [("09:29", EARLY), ("09:30", OPEN), ("10:15", OPEN), ("10:16", LATE)])
def test_the_window_against_the_terminals_clock(hhmm, expect):
    h, m = (int(v) for v in hhmm.split(":"))
    clock = FakeClock(dt.datetime(2026, 11, 24, h, m, 30, tzinfo=FakeClock().tz))
    svc = CheckinService(None, None, None, clock, hall="H", hall_code="H410122203", terminal_id="ZM-T-1")
    assert svc.window(APPT) == expect


def test_an_appointment_without_a_window_is_open():
    clock = FakeClock(dt.datetime(2026, 11, 24, 23, 59, tzinfo=FakeClock().tz))
    svc = CheckinService(None, None, None, clock, hall="H", hall_code="H410122203", terminal_id="ZM-T-1")
    assert svc.window({"appointment_id": "A1"}) == OPEN
