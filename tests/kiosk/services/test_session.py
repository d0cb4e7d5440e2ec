"""The session state machine: start, elder mode, timeout, card removal, and the wipe."""
import datetime as dt

from kiosk.clock import FakeClock
from kiosk.events import EventBus
from kiosk.logs import SENSITIVE
from kiosk.services.session import Citizen, EndReason, SessionManager, SessionState


def make(clock=None):
    bus = EventBus()
    events = []
    bus.subscribe("session", lambda e: events.append((e.topic, e.data)))
    clock = clock or FakeClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=FakeClock().tz))
    return SessionManager(bus, clock, timeout_s=60, elder_timeout_s=120, elder_age=60), bus, clock, events


def citizen(birth=dt.date(1981, 5, 12)):
    return Citizen(id_number="410122198105122460", name="王秀兰", source="idcard", birth_date=birth,
                   address="河南省郑州市中牟县刁家乡付李庄社区12号")


def test_begin_and_end_wipes_data_and_redactor():
    sm, bus, clock, events = make()
    c = citizen()
    sm.begin(c)
    assert sm.state is SessionState.ACTIVE and not sm.elder_mode
    assert "王秀兰" not in SENSITIVE.redact("王秀兰 来了")  # the redactor knows the name now
    sm.end(EndReason.DONE)
    assert sm.state is SessionState.IDLE and sm.citizen is None
    assert c.id_number == "" and c.name == "" and c.address == "" and c.birth_date is None
    assert "王秀兰" in SENSITIVE.redact("王秀兰")  # forgotten once the session ended
    assert [t for t, _ in events] == ["session.started", "session.ended"]
    assert events[-1][1]["reason"] == "done"


def test_a_senior_gets_the_longer_timeout_and_is_offered_elder_mode_not_given_it():
    sm, bus, clock, events = make()
    sm.begin(citizen(birth=dt.date(1958, 2, 3)))
    # Large type is the citizen's choice (the screen offers it); more time is given at once.
    assert sm.senior and not sm.elder_mode and sm.effective_timeout_s() == 120
    assert events[0][1]["senior"] is True and events[0][1]["elder"] is False
    sm.set_elder_mode(True)
    assert sm.elder_mode
    clock.advance(100)
    assert not sm.tick() and sm.state is SessionState.ACTIVE
    clock.advance(21)
    assert sm.tick() and sm.state is SessionState.IDLE
    assert events[-1][1]["reason"] == "timeout"
    assert not sm.elder_mode and not sm.senior  # reset for the next citizen


def test_a_younger_citizen_is_not_a_senior():
    sm, bus, clock, events = make()
    sm.begin(citizen(birth=dt.date(1990, 2, 3)))
    assert not sm.senior and not sm.elder_mode and sm.effective_timeout_s() == 60


def test_countdown_in_last_15_seconds_and_touch_restarts():
    sm, bus, clock, events = make()
    sm.begin(citizen())
    clock.advance(44)
    assert not sm.countdown_visible()
    clock.advance(2)
    assert sm.countdown_visible()
    sm.touch()
    assert not sm.countdown_visible() and sm.remaining_s() == 60


def test_card_events_start_and_end_the_session():
    sm, bus, clock, events = make()

    class Identity:  # what the ID-card driver publishes (duck-typed)
        id_number, name, birth_date = "410122198105122460", "王秀兰", dt.date(1981, 5, 12)
        address, sex, card_type = "河南省郑州市", "女", "resident"

    bus.publish("idcard.identity", Identity())
    assert sm.citizen is not None and sm.citizen.masked_name == "王*兰"
    assert "王秀兰" not in repr(sm.citizen) and "410122198105122460" not in repr(sm.citizen)
    bus.publish("idcard.removed")
    assert sm.citizen is None and events[-1][1]["reason"] == "card_removed"


def test_a_new_card_replaces_the_previous_session():
    sm, bus, clock, events = make()
    sm.begin(citizen())
    sm.begin(citizen(birth=dt.date(1990, 1, 1)))
    reasons = [d["reason"] for t, d in events if t == "session.ended"]
    assert reasons == ["replaced"]


def test_after_an_english_session_the_next_one_starts_in_the_terminals_language():
    sm, bus, clock, events = make()
    sm.set_language("en")                 # chosen on the home screen, then the card
    sm.begin(citizen())
    assert sm.language == "en"            # the citizen's own choice carries into their session
    sm.end(EndReason.CARD_REMOVED)
    assert sm.language == "zh_CN"
    assert [t for t, _ in events] == ["session.language", "session.started", "session.ended", "session.language"]
    sm.begin(citizen())
    assert sm.language == "zh_CN"


def test_a_visitor_who_never_identified_leaves_the_language_for_the_next_one():
    sm, bus, clock, events = make()
    sm.set_language("en")                 # the guide or a walk-in ticket: no session at all
    clock.advance(59)
    sm.tick()
    assert sm.language == "en"            # still reading
    sm.touch()
    clock.advance(59)
    sm.tick()
    assert sm.language == "en"
    clock.advance(2)                      # gone: untouched for the session timeout
    sm.tick()
    assert sm.language == "zh_CN" and events[-2:] == [("session.language", "zh_CN"), ("session.idle", {"reason": "timeout"})]
    sm.begin(citizen())
    assert sm.language == "zh_CN"


def test_reset_language_for_staff_and_no_event_when_nothing_changes():
    sm, bus, clock, events = make()
    sm.reset_language()
    sm.set_language("zh_CN")
    assert events == []
    sm.set_language("en")
    sm.reset_language()
    assert sm.language == "zh_CN" and [d for _, d in events] == ["en", "zh_CN"]


def test_a_visitor_who_walks_away_leaves_language_and_large_type_and_the_screen_goes_home():
    """No session (the guide, a walk-in number): English and elder mode chosen, then nobody
    touches the terminal for the elder timeout that then applies."""
    sm, bus, clock, events = make()
    sm.set_language("en")
    sm.set_elder_mode(True)
    assert sm.effective_timeout_s() == 120      # large type: more time, also without a session
    clock.advance(119)
    sm.tick()
    assert sm.elder_mode and sm.language == "en" and ("session.idle", {"reason": "timeout"}) not in events
    clock.advance(1)
    sm.tick()
    assert not sm.elder_mode and sm.language == "zh_CN"
    assert events[-2:] == [("session.language", "zh_CN"), ("session.idle", {"reason": "timeout"})]
    clock.advance(600)
    sm.tick()                                   # once: the terminal was taken back already
    assert [t for t, _ in events].count("session.idle") == 1


def test_a_touch_on_the_home_screen_opens_a_visit_that_the_idle_time_ends():
    sm, bus, clock, events = make()
    sm.tick()
    clock.advance(3600)
    sm.tick()
    assert events == []                         # nobody came: nothing to take back
    sm.touch()                                  # someone browses the guide in the terminal's language
    clock.advance(60)
    sm.tick()
    assert events == [("session.idle", {"reason": "timeout"})]


def test_a_session_that_timed_out_is_not_ended_again_as_a_visit():
    """The timeout notice of a session goes home by itself (kiosk.screens.message): the visit
    ended with the session, no second event pulls the notice away."""
    sm, bus, clock, events = make()
    sm.touch()
    sm.begin(citizen())
    clock.advance(61)
    assert sm.tick()
    clock.advance(61)
    sm.tick()
    assert "session.idle" not in [t for t, _ in events]


def test_a_scanned_code_is_a_visit_too():
    """A receipt scanned on the home screen shows its application without a touch: it must go
    when its holder has gone."""
    sm, bus, clock, events = make()
    bus.publish("scanner.scan", {"text": "SQ202612034101220002"}, source="scanner")
    clock.advance(59)
    sm.tick()
    assert events == []
    bus.publish("camera.scan", {"text": "SQ202612034101220002"}, source="camera")
    clock.advance(59)
    sm.tick()
    assert events == []
    clock.advance(1)
    sm.tick()
    assert events == [("session.idle", {"reason": "timeout"})]


def test_a_session_that_ends_otherwise_leaves_the_visit_to_the_idle_time():
    """Staff open the maintenance screen while a citizen's card lies on the reader, the card is
    taken: the screen stays (kiosk.screens.kioskapp), and must still go once nobody touches it."""
    sm, bus, clock, events = make()
    sm.begin(citizen())
    sm.touch()                            # five taps in the corner
    sm.end(EndReason.CARD_REMOVED)
    clock.advance(59)
    sm.tick()
    assert "session.idle" not in [t for t, _ in events]
    clock.advance(1)
    sm.tick()
    assert events[-1] == ("session.idle", {"reason": "timeout"})


class _Identity:  # what the ID-card driver publishes (duck-typed)
    id_number, name, birth_date = "410122198105122460", "王秀兰", dt.date(1958, 2, 3)


def test_a_card_left_on_the_reader_when_the_session_ends_is_said_and_its_lifting_too():
    """The reader reads a card once per placing: one left on it when its session ended (done) is
    not read again, so the end says so (the screen asks to take it), and the session's type size
    goes with it (the notice is shown in it); lifting it later is announced, with no data."""
    sm, bus, clock, events = make()
    bus.publish("idcard.identity", _Identity(), source="idcard")
    sm.set_elder_mode(True)
    assert not sm.card_left   # in session: the card is in use, not left
    sm.end(EndReason.DONE)
    ended = next(d for t, d in events if t == "session.ended")
    assert ended["card_left"] is True and ended["elder"] is True and ended["reason"] == "done"
    assert sm.card_left and sm.citizen is None
    bus.publish("idcard.removed", None, source="idcard")
    assert not sm.card_left
    assert events[-1] == ("session.card_left", {"left": False})


def test_a_card_pulled_ends_its_session_with_nothing_left_on_the_reader():
    sm, bus, clock, events = make()
    bus.publish("idcard.identity", _Identity(), source="idcard")
    bus.publish("idcard.removed", None, source="idcard")
    ended = next(d for t, d in events if t == "session.ended")
    assert ended["reason"] == "card_removed" and ended["card_left"] is False and not sm.card_left
    assert "session.card_left" not in [t for t, _ in events]


def test_a_typed_number_leaves_no_card_on_the_reader():
    sm, bus, clock, events = make()
    from kiosk.trust.payload import id_check_char
    assert sm.begin_keypad("41012219810512246" + id_check_char("41012219810512246")) == ""
    sm.end(EndReason.DONE)
    assert next(d for t, d in events if t == "session.ended")["card_left"] is False


def test_a_card_forgotten_after_its_session_timed_out_alerts_staff_once_with_no_data(caplog):
    """Its session timed out with the card on the reader: after CARD_FORGOTTEN_S, and not before,
    one ``session.card_forgotten`` (the readers and how long: presence only), the figure the
    maintenance report and telemetry show; its taking ends the alert."""
    from kiosk.services.session import CARD_FORGOTTEN_S
    sm, bus, clock, events = make()
    bus.publish("idcard.identity", _Identity(), source="idcard")
    clock.advance(sm.effective_timeout_s() + 1)
    assert sm.tick()
    assert next(d for t, d in events if t == "session.ended")["card_left"] is True
    clock.advance(CARD_FORGOTTEN_S - 2)
    sm.tick()
    assert "session.card_forgotten" not in [t for t, _ in events] and sm.card_forgotten_s() is None
    clock.advance(2)
    sm.tick()
    sm.tick()
    alerts = [d for t, d in events if t == "session.card_forgotten"]
    assert alerts == [{"left": True, "roles": ["idcard"], "left_s": int(CARD_FORGOTTEN_S)}]
    assert sm.card_forgotten_s() == int(CARD_FORGOTTEN_S)
    assert "王" not in caplog.text and "410122" not in caplog.text
    bus.publish("idcard.removed", None, source="idcard")
    assert events[-1] == ("session.card_left", {"left": False, "alerted": True})
    assert sm.card_forgotten_s() is None and not sm.card_left


def test_a_card_taken_before_the_alert_alerts_nobody():
    from kiosk.services.session import CARD_FORGOTTEN_S
    sm, bus, clock, events = make()
    bus.publish("idcard.identity", _Identity(), source="idcard")
    sm.end(EndReason.DONE)
    clock.advance(CARD_FORGOTTEN_S / 2)
    sm.tick()
    bus.publish("idcard.removed", None, source="idcard")
    clock.advance(CARD_FORGOTTEN_S)
    sm.tick()
    assert "session.card_forgotten" not in [t for t, _ in events]
    assert events[-1] == ("session.card_left", {"left": False})
