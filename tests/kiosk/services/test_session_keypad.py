"""An ID number typed on the keypad: the session manager's rule (kiosk.services.session.begin_keypad),
once written in the identify screen: 18 characters, a possible birth date, the right check character."""
import datetime as dt

from kiosk.clock import FakeClock
from kiosk.events import EventBus
from kiosk.services.session import SessionManager, SessionState
from kiosk.trust.payload import id_check_char

FIRST17 = "41012219810512246"
VALID = FIRST17 + id_check_char(FIRST17)
WRONG_CHECK = FIRST17 + ("0" if VALID[-1] != "0" else "1")


def make():
    bus = EventBus()
    started = []
    bus.subscribe("session.started", lambda e: started.append(e.data))
    clock = FakeClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=FakeClock().tz))
    return SessionManager(bus, clock, timeout_s=60, elder_timeout_s=120, elder_age=60), started


def test_a_valid_number_starts_a_keypad_session():
    sm, started = make()
    assert sm.begin_keypad(" " + VALID.lower() + " ") == ""
    c = sm.citizen
    assert sm.state is SessionState.ACTIVE and len(started) == 1
    assert (c.id_number, c.name, c.source, c.birth_date) == (VALID.upper(), "", "keypad", dt.date(1981, 5, 12))


def test_a_short_or_invalid_number_starts_nothing_and_says_why():
    sm, started = make()
    assert sm.begin_keypad(VALID[:17]) == "length"
    assert sm.begin_keypad(WRONG_CHECK) == "invalid"
    assert sm.begin_keypad("410122198102302461") == "invalid"   # 30 February
    assert sm.citizen is None and started == []
