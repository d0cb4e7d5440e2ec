"""A second cold try's findings, as data: played by ``hall_demo.testrun --tour
tests.kiosk.screens.second_cold_try_steps:second_cold_try_tour`` on the real stack (Mosquitto, the
reference central service, the simulators, a real Kivy window on Xvfb);
tests/kiosk/screens/test_second_cold_try.py checks which steps passed.

- A session that timed out with its card on the reader said only "your session has ended": nobody
  was asked to take the card, home then invited the next person to place one on it, and nobody
  was alerted. Now the same "Please take your card" as Done; the card taken closes it (home), never
  taken it goes home by itself, where home says a card is on the reader, and staff are alerted once
  it has lain there CARD_FORGOTTEN_S (a durable event to the central service, telemetry, the
  maintenance report).
- The progress timeline's route line sat one line below the first level after switching to
  English (drawn before the wrapped English text re-laid the rows).
"""
from __future__ import annotations

import functools
import json
import sqlite3

from hall_demo.tour import Ctx, Step, no_citizen_traces, on_screen
from hall_demo.tour_steps import _cond, _msg
from tests.kiosk.screens.tour_states import checkin_listed as _listed
from tests.kiosk.screens.tour_states import home_no_session as _home_no_session

#: The demo citizen with one appointment today and applications in progress (hall_central.seed).
CARD = 0
CARD_LEFT = "A card is still on the reader. If it is yours, lift it and place it again; if not, please hand it to the staff."
INVITE = "Place your ID card on the reader to check in for an appointment."


def _route_line(timeline) -> list[float] | None:
    from kivy.graphics import Line
    lines = [i for i in timeline.canvas.before.children if isinstance(i, Line)]
    return list(lines[-1].points) if lines else None


def _line_beside_levels(c: Ctx) -> bool:
    """The route line spans the levels it joins: down the rows' left edge from the first level's top
    to the last one's foot, or along the columns' tops; within 3 px (its width and the 2 px inset)."""
    if c.app.sm.current != "progress" or c.app.sm.transition.is_active or c.screen.status != "shown":
        return False
    t = c.screen.ids.timeline
    points, labels = _route_line(t), list(t.children)
    if not points or len(labels) != 4:
        return False
    top, bottom = max(w.top for w in labels), min(w.y for w in labels)
    if t.rows:
        return abs(points[3] - top) <= 3 and abs(points[1] - bottom) <= 3
    return abs(points[1] - top) <= 3


def _in_lang(lang: str, cond):
    return lambda c: c.app.lang == lang and cond(c)


def _take_card_after_timeout(c: Ctx) -> bool:
    """'Please take your card' in the terminal's language and standard type, nobody in session."""
    s = c.app.services.sessions
    return (c.app.sm.current == "message" and c.screen.kind == "take_card" and c.app.card_left
            and s.citizen is None and c.app.lang == s.default_language and not c.app.elder
            and c.shows(c.app.tr("Please take your card")) and no_citizen_traces(c, CARD))


def _home_says_card_left(c: Ctx) -> bool:
    return (_home_no_session(c) and c.app.card_left and c.shows(c.app.tr(CARD_LEFT))
            and not c.shows(c.app.tr(INVITE)))


def _home_invites(c: Ctx) -> bool:
    return (_home_no_session(c) and not c.app.card_left and c.shows(c.app.tr(INVITE))
            and not c.shows(c.app.tr(CARD_LEFT)))


def _central_rows(c: Ctx, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{c.sim.stack.run_dir / 'central.db'}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _staff_alerted(c: Ctx) -> bool:
    """The maintenance report's figure, the central service's stored event and telemetry: presence
    and time only (no citizen's data in either)."""
    left_s = c.app.services.health().get("card_forgotten_s")
    if left_s is None:
        return False
    events = [json.loads(d) for op, d in _central_rows(c, "SELECT op, data FROM events") if op == "card.forgotten"]
    telemetry = [json.loads(t) for (t,) in _central_rows(c, "SELECT telemetry FROM terminals") if t]
    return (len(events) == 1 and set(events[0]) == {"roles", "left_s"} and events[0]["roles"] == ["idcard"]
            and any((t.get("card_forgotten_s") or 0) >= 120 for t in telemetry))


def _alert_over(c: Ctx) -> bool:
    ops = [op for (op,) in _central_rows(c, "SELECT op FROM events")]
    return (_home_invites(c) and c.app.services.health().get("card_forgotten_s") is None
            and ops.count("card.taken") == 1)


def _timeout(c: Ctx) -> None:
    c.sim.advance(c.app.services.sessions.remaining_s() + 1, wall=False)


def _notice_goes_by_itself(c: Ctx) -> None:
    from kiosk.screens.message import AUTO_HOME_S
    c.sim.advance((c.app.auto_home_s or AUTO_HOME_S) + 1, wall=False)


def _forgotten(c: Ctx) -> None:
    from kiosk.services.session import CARD_FORGOTTEN_S
    c.sim.advance(CARD_FORGOTTEN_S, wall=False)


def second_cold_try_tour(langs=("zh_CN",)) -> list[Step]:
    """The timeline after a language switch; a session timing out with its card on the reader,
    the card taken at the notice, then left there for good."""
    S = functools.partial(Step, lang=langs[0])
    home = _cond("home, no session", _home_no_session)
    listed = _cond("the check-in list for the card's holder", _listed)
    return [
        S("home", None, home),
        # 2: the route line beside the levels, in Chinese and after switching to English
        S("progress", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("progress by card: the route line beside the levels", lambda c: c.sim.place_card(CARD),
          _cond("the timeline's line beside its levels", _in_lang("zh_CN", _line_beside_levels)), "timeline-zh",
          timeout_s=20),
        S("English: the route line still beside the levels", lambda c: c.tap("lang"),
          _cond("the English timeline's line beside its levels", _in_lang("en", _line_beside_levels)), "timeline-en"),
        S("card out", lambda c: c.sim.remove_card(), _msg("card_removed")),
        S("home after the progress", lambda c: c.tap("msg_back"), home),
        # 1: the timeout with the card on the reader; the card taken at the notice
        S("card, the clock held", lambda c: (c.sim.hold_time(True), c.sim.place_card(CARD)), listed, timeout_s=15),
        S("timed out with the card on the reader: take your card", _timeout,
          _cond("'take your card', the terminal's language", _take_card_after_timeout), "timeout-take-card"),
        S("card taken at the notice: home, inviting a card", lambda c: c.sim.remove_card(),
          _cond("home inviting a card, none left", _home_invites)),
        # the card never taken: home by itself, saying so; staff alerted; then taken
        S("card again", lambda c: c.sim.place_card(CARD), listed, timeout_s=15),
        S("timed out again", _timeout, _cond("'take your card'", _take_card_after_timeout)),
        S("never taken: home by itself, saying a card is on the reader", _notice_goes_by_itself,
          _cond("home saying a card is on the reader, not inviting one", _home_says_card_left), "home-card-left"),
        S("left long after: staff alerted", _forgotten,
          _cond("the alert in the maintenance report, the central service's event and telemetry", _staff_alerted),
          timeout_s=30),
        S("taken at last: home invites again, the alert over", lambda c: (c.sim.remove_card(), c.sim.hold_time(False)),
          _cond("home inviting a card, the alert over", _alert_over), timeout_s=30),
    ]
