"""A card placed on a visitor's message screen (help, a code not understood, the card-removed
notice), as data: played by ``hall_demo.testrun --tour
tests.kiosk.screens.card_on_message_steps:card_on_message_tour`` on the real stack (Mosquitto, the
reference central service, the simulators, a real Kivy window on Xvfb);
tests/kiosk/screens/test_card_on_message.py checks which steps passed.

Found off the script: the help text says "to check in, place your ID card on the reader"; a card
placed there started a session (the holder's name in the header) while the help stayed on
screen, and its 首页 button then ended that session with the card still on the reader.
"""
from __future__ import annotations

import functools

from hall_demo.tour import Ctx, Step, on_screen
from hall_demo.tour_steps import _cond, _msg
from tests.kiosk.screens.tour_states import home_no_session as _home_no_session

#: The demo citizen with an appointment today (hall_central.seed.DEMO_APPOINTMENTS).
CARD = 0


def _checkin_for_the_card(c: Ctx) -> bool:
    s = c.app.services.sessions
    return c.app.sm.current == "checkin" and not c.app.sm.transition.is_active and s.citizen is not None


def card_on_message_tour(langs=("zh_CN",)) -> list[Step]:
    """Help, a code not understood and the card-removed notice, each with a card placed on it."""
    S = functools.partial(Step, lang=langs[0])
    checkin = _cond("the check-in screen for the card's holder", _checkin_for_the_card)
    home = _cond("home, no session", _home_no_session)
    return [
        S("home", None, on_screen("home")),
        S("help", lambda c: c.tap("help"), _msg("help")),
        S("card placed on the help screen: check-in", lambda c: c.sim.place_card(CARD), checkin,
          "help-card", timeout_s=15),
        S("card pulled: the card-removed notice", lambda c: c.sim.remove_card(), _msg("card_removed")),
        S("card placed again on the notice: check-in", lambda c: c.sim.place_card(CARD), checkin,
          "removed-card", timeout_s=15),
        S("card pulled again", lambda c: c.sim.remove_card(), _msg("card_removed")),
        S("home", lambda c: c.tap("msg_back"), home),
        S("garbage scanned", lambda c: c.sim.scan("%%not-a-code-at-all%%"), _msg("unknown_code")),
        S("card placed on the code's message: check-in", lambda c: c.sim.place_card(CARD), checkin,
          "unknown-code-card", timeout_s=15),
        S("card pulled at the end", lambda c: c.sim.remove_card(), _msg("card_removed")),
        S("home at the end", lambda c: c.tap("msg_back"), home),
    ]
