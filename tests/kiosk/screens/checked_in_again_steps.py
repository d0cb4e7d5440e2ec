"""A citizen who checked in comes back after the check-in window closed (their ticket did not
print, or they lost it), as data: played by ``hall_demo.testrun --tour
tests.kiosk.screens.checked_in_again_steps:checked_in_again_tour`` on the real stack (Mosquitto,
the reference central service, the simulators, a real Kivy window on Xvfb);
tests/kiosk/screens/test_checked_in_again.py checks which steps passed.

Found off the script: a citizen checked in with the printer out of paper (number E001 on screen,
nothing printed), came back once paper was in and the window had closed: the list said "check-in
closed at 10:15" and confirming said "check-in has closed, take a walk-in ticket", though the
central service answers a second check-in with the same ticket at any time.
"""
from __future__ import annotations

import functools

from hall_demo.tour import Ctx, Step, on_screen
from hall_demo.tour_steps import _cond
from tests.kiosk.screens.tour_states import home_no_session as _home_no_session

#: The demo citizen with an appointment today (hall_central.seed.DEMO_APPOINTMENTS).
CARD = 0
#: How far the hall's clock moves between the two visits (s): past the check-in window (which
#: closes 15 minutes after the appointment's start; the demo's appointment starts near now).
LATER_S = 2 * 3600


def _listed_as_checked_in(c: Ctx) -> bool:
    b = c.find("appt_0")
    return (c.app.sm.current == "checkin" and b is not None and "已签到" in b.text and "截止" not in b.text)


def _pull(c: Ctx) -> None:
    c.sim.remove_card()


def _leave(c: Ctx) -> None:
    if c.app.sm.current == "message":
        c.tap("msg_back")


def checked_in_again_tour(langs=("zh_CN",)) -> list[Step]:
    """Check in, leave, come back after the window closed: the same number again."""
    S = functools.partial(Step, lang=langs[0])
    first: dict[str, str] = {}   # the first visit's number, which the second must get again

    def first_ticket(c: Ctx) -> bool:
        if c.app.sm.current != "ticket" or not c.screen.result.get("queue_no"):
            return False
        first["queue_no"] = c.screen.result["queue_no"]
        return True

    def same_ticket(c: Ctx) -> bool:
        return c.app.sm.current == "ticket" and c.screen.result.get("queue_no") == first.get("queue_no")

    home = _cond("home, no session", _home_no_session)
    listed = on_screen("checkin", ready=lambda c: c.find("appt_0") is not None)
    return [
        S("home", None, on_screen("home")),
        S("card: today's appointments", lambda c: c.sim.place_card(CARD), listed, timeout_s=15),
        S("the appointment", lambda c: c.tap("appt_0"), on_screen("checkin_confirm")),
        S("checked in", lambda c: c.tap("confirm"), first_ticket, "first-ticket", timeout_s=20),
        S("card taken", _pull, _cond("home or the card-removed notice",
                                     lambda c: c.app.services.sessions.citizen is None)),
        S("home", _leave, home),
        S("two hours later", lambda c: c.sim.advance(LATER_S), home),
        S("card again: listed as checked in, not as closed", lambda c: c.sim.place_card(CARD),
          _cond("the appointment listed as checked in", _listed_as_checked_in), "listed-checked-in", timeout_s=15),
        S("the appointment again", lambda c: c.tap("appt_0"),
          on_screen("checkin_confirm", ready=lambda c: "您已签到" in c.screen.rule_text)),
        S("the same number again, not 'check-in has closed'", lambda c: c.tap("confirm"),
          _cond("the first ticket's number", same_ticket), "same-ticket", timeout_s=20),
        S("card taken at the end", _pull, _cond("no session", lambda c: c.app.services.sessions.citizen is None)),
        S("home at the end", _leave, home),
    ]
