"""How a visit ends in front of the citizen, as data (found by a cold try of the terminal): played
by ``hall_demo.testrun --tour tests.kiosk.screens.visit_end_steps:visit_end_tour`` on the real
stack (Mosquitto, the reference central service, the simulators, a real Kivy window on Xvfb);
tests/kiosk/screens/test_visit_end.py checks which steps passed.

- "Finish" with the card still on the reader: the citizen is asked to take it, in their language
  and type size; the reader reads a card once per placing, so the next person is told of the card
  left there (lift it and place it again), and its holder's data never shows to them.
- A card pulled on a ticket that did not print (paper out): the number stays readable, in the
  citizen's type size; their data goes.
- The central service not answering in time: "Try again" beside "Home", which sends the request
  again and goes on.
- A late citizen: the confirm screen says check-in has closed, not "open from ... to ...".
"""
from __future__ import annotations

import functools
import os
import signal

from hall_demo.tour import Ctx, Step, no_citizen_traces, on_screen
from hall_demo.tour_steps import _cond, _msg, late_advance_s
from tests.kiosk.screens.tour_states import checkin_listed as _listed
from tests.kiosk.screens.tour_states import home_no_session as _home_no_session

#: The demo citizens (hall_central.seed): 0 has one appointment today, 1 is 68 with two.
CARD, ELDER = 0, 1


def _standard(c: Ctx) -> bool:
    """The terminal's language and standard type, nobody in session."""
    return (_home_no_session(c) and not c.app.elder
            and c.app.lang == c.app.services.sessions.default_language)


def _take_card_in(lang: str, card: int):
    def cond(c: Ctx) -> bool:
        return (c.app.sm.current == "message" and c.screen.kind == "take_card" and c.app.lang == lang
                and c.app.elder and c.app.services.sessions.citizen is None and no_citizen_traces(c, card))
    return _cond(f"'take your card' in {lang}, large type, no trace of the citizen", cond)


def _card_left_said(c: Ctx) -> bool:
    said = c.app.tr("A card is still on the reader. If it is yours, lift it and place it again; "
                    "if not, please hand it to the staff.")
    return c.app.sm.current == "identify" and c.app.card_left and c.shows(said) and c.app.services.sessions.citizen is None


def _kept_ticket(c: Ctx) -> bool:
    return (c.app.sm.current == "ticket" and bool(c.screen.queue_no) and not c.screen.printed
            and c.app.services.sessions.citizen is None and c.app.citizen_text == "" and c.app.elder
            and c.shows(c.screen.queue_no) and no_citizen_traces(c, ELDER))


def _central(sig: signal.Signals):
    def act(c: Ctx) -> None:
        os.kill(c.sim.stack.central.pid, sig)
    return act


def _stop_central_and_identify(c: Ctx) -> None:
    # SIGSTOP: the central service neither answers nor drops the connection (a slow central side,
    # not an offline one): the terminal's request times out (network.request_timeout_s).
    if c.taps == 0:
        _central(signal.SIGSTOP)(c)
    c.tap("tile_checkin")


def _retry(c: Ctx) -> None:
    _central(signal.SIGCONT)(c)
    c.tap("msg_action")


def _retry_offered(c: Ctx) -> bool:
    b = c.find("msg_action")
    return (c.app.sm.current == "message" and c.screen.code == "network.timeout" and c.screen.action == "retry"
            and b is not None and b.text == c.app.tr("Try again") and c.find("msg_back") is not None)


def _late(c: Ctx) -> None:
    c.sim.advance(late_advance_s(c.app.services.clock.now(), c.sim.central_now()))


def _open_unchecked(c: Ctx) -> None:
    i = next(i for i, a in enumerate(c.screen.appointments) if a.get("status") != "checked_in")
    c.tap(f"appt_{i}")


def _told_closed(c: Ctx) -> bool:
    if c.app.sm.current != "checkin_confirm" or not c.screen.appointment:
        return False
    a = c.screen.appointment
    closed = c.app.tr("Check-in closed at {u}. Take a walk-in ticket or ask the staff.").format(u=a["checkin_until"])
    return c.app.services.checkin.window(a) == "late" and c.screen.rule_text == closed


def visit_end_tour(langs=("zh_CN",)) -> list[Step]:
    """Finish with the card on the reader, the card left for the next person, the kept ticket, a
    retry after the central service's silence, and a late citizen's confirm screen (last: the
    clock moves on)."""
    S = functools.partial(Step, lang=langs[0])
    home = _cond("home, no session", _home_no_session)
    listed = _cond("the check-in list for the card's holder", _listed)
    return [
        S("home", None, home),
        # 1 and 4: finished with the card on the reader, in English and large type
        S("elder card", lambda c: c.sim.place_card(ELDER), _cond("listed, large type offered",
                                                                 lambda c: _listed(c) and c.app.elder_offer),
          timeout_s=15),
        S("large type", lambda c: c.tap("elder_yes"), _cond("large type", lambda c: c.app.elder)),
        S("English", lambda c: c.tap("lang"), on_screen("checkin", ready=lambda c: c.app.lang == "en")),
        S("finished with the card on the reader: take your card", lambda c: c.tap("home"),
          _take_card_in("en", ELDER), "take-card"),
        S("card taken: home, the terminal's language, standard type", lambda c: c.sim.remove_card(),
          _cond("home in the terminal's language, standard type, no card left", lambda c: _standard(c)
                and not c.app.card_left)),
        # 1: the card left on the reader, and the next person
        S("card", lambda c: c.sim.place_card(CARD), listed, timeout_s=15),
        S("finished, card left", lambda c: c.tap("home"), _msg("take_card")),
        S("home without taking it", lambda c: c.tap("msg_back"), home),
        S("the next person is told of the card left", lambda c: c.tap("tile_checkin"),
          _cond("identify saying a card is on the reader", _card_left_said), "card-left"),
        S("the card lifted: the notice goes", lambda c: c.sim.remove_card(),
          on_screen("identify", ready=lambda c: not c.app.card_left)),
        S("the card placed again is read", lambda c: c.sim.place_card(CARD), listed, timeout_s=15),
        # 4: the card-removed notice keeps the session's type size (and language)
        S("large type from the header", lambda c: c.tap("elder"), _cond("large type", lambda c: c.app.elder)),
        S("card pulled on the list: the notice in large type", lambda c: c.sim.remove_card(),
          _cond("the card-removed notice in large type, no session", lambda c: c.app.sm.current == "message"
                and c.screen.kind == "card_removed" and c.app.elder and c.app.services.sessions.citizen is None),
          "card-removed-large"),
        S("home after the list, standard type", lambda c: c.tap("msg_back"), _cond("home, standard type", _standard)),
        # 3 and 4: the ticket that did not print outlives the card, in large type
        S("elder card for a ticket", lambda c: c.sim.place_card(ELDER),
          _cond("listed, large type offered", lambda c: _listed(c) and c.app.elder_offer), timeout_s=15),
        S("large type for the ticket", lambda c: c.tap("elder_yes"), _cond("large type", lambda c: c.app.elder)),
        S("paper out, an appointment", lambda c: (c.sim.set_paper_out(True), _open_unchecked(c)),
          on_screen("checkin_confirm")),
        S("ticket not printed", lambda c: c.tap("confirm"),
          on_screen("ticket", ready=lambda c: not c.screen.printed and bool(c.screen.queue_no)), timeout_s=20),
        S("card pulled on the ticket: the number stays", lambda c: c.sim.remove_card(),
          _cond("the ticket's number, large type, no session, no trace of the citizen", _kept_ticket), "ticket-kept"),
        S("done: home, standard type", lambda c: (c.sim.set_paper_out(False), c.tap("done")),
          _cond("home in the terminal's language, standard type", _standard)),
        # 2: the central service does not answer in time: try again
        S("central silent, identify", _stop_central_and_identify, on_screen("identify")),
        S("card: no answer in time, try again offered", lambda c: c.sim.place_card(CARD),
          _cond("the timeout message offering 'Try again' and 'Home'", _retry_offered), "timeout-retry", timeout_s=40),
        S("try again: the list", _retry, listed, timeout_s=40),
        S("card pulled after the retry", lambda c: c.sim.remove_card(), _msg("card_removed")),
        S("home after the retry", lambda c: c.tap("msg_back"), home),
        # 5 (last: the clock only moves on): a late citizen is told check-in has closed
        S("late: the clock moves on", _late, home),
        S("late card", lambda c: c.sim.place_card(ELDER), listed, timeout_s=15),
        # declined, as in the full tour: the offer's bar and large type never show together
        S("late: no large type, thanks", lambda c: c.tap("elder_no"),
          on_screen("checkin", ready=lambda c: not c.app.elder_offer and not c.app.elder)),
        S("late appointment: told it has closed", _open_unchecked,
          _cond("the confirm screen saying check-in closed at its time", _told_closed), "late-confirm"),
        S("late card taken", lambda c: c.sim.remove_card(), _cond("no session",
                                                                  lambda c: c.app.services.sessions.citizen is None)),
    ]
