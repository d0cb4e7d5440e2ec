"""What a cold try of the citizen's terminal found, on a real Kivy window under Xvfb on the real
stack (tests/kiosk/screens/cold_try_steps.py), in both languages, at the 10.1" 1280x800 panel's
DPI and on the 1080x1920 portrait panel: the keypad in large type, the card holder's list, the
timeline's states, the complaint form's phone hint, a booking slip scanned before its day."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.conftest import PANEL_DPI, finish_tour, start_tour

pytestmark = [pytest.mark.ui, pytest.mark.integration]

TOUR = "tests.kiosk.screens.cold_try_steps:cold_try_tour"
SIZES = {"1280x800": PANEL_DPI, "1080x1920": None}


@pytest.fixture(scope="module", params=sorted(SIZES))
def tour(request, display, tmp_path_factory):
    """The tour at one panel size (one after the other: each stack starts its own pcscd)."""
    base = tmp_path_factory.mktemp("cold-try-" + request.param)
    return finish_tour(start_tour(display, base, tour=TOUR, langs="zh_CN,en", size=request.param,
                                  dpi=SIZES[request.param]), base)


def _passed(tour, step: str, lang: str) -> None:
    rc, result, output = tour
    steps = {(s["lang"], s["name"]): s for s in result.get("steps", [])}
    assert (lang, step) in steps, f"step {step!r} ({lang}) not reached: {result.get('error') or output[-3000:]}"
    assert steps[(lang, step)]["passed"], steps[(lang, step)]["message"]


LANGS = ["zh_CN", "en"]


@pytest.mark.parametrize("lang", LANGS)
def test_large_type_never_shrinks_the_keypad(tour, lang):
    _passed(tour, "identify, large type: keys not smaller", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_application_shown_is_marked_in_the_card_holders_list(tour, lang):
    _passed(tour, "progress by card: the first one marked", lang)
    _passed(tour, "another application: the mark moves", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_timelines_states_do_not_wrap(tour, lang):
    _passed(tour, "timeline: each state on one line", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_partial_phone_number_says_what_is_missing(tour, lang):
    _passed(tour, "complaint: phone partly typed says what is missing", lang)
    _passed(tour, "complaint hint in large type", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_slip_scanned_before_its_day_says_when_it_is_for(tour, lang):
    _passed(tour, "slip scanned early: says the day and time", lang)


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]


@pytest.mark.parametrize("lang", LANGS)
def test_the_priority_line_asks_for_the_card_and_its_card_prints_the_ticket(tour, lang):
    # A cold try: the keypad offered for the line, "not open to you" for a typed 68-year-old's number,
    # the card then placed opened the appointment check-in; the card placed first needed a second tap.
    _passed(tour, "priority line: only a card, and why", lang)
    _passed(tour, "priority line: only a card, large type", lang)
    _passed(tour, "priority line: the card prints its ticket", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_card_placed_over_a_typed_numbers_session_prints_the_priority_ticket(tour, lang):
    _passed(tour, "priority line, typed number: only a card", lang)
    _passed(tour, "priority line, typed number: the card prints its ticket", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_number_refused_for_the_line_asks_for_the_card_and_the_card_goes_on(tour, lang):
    _passed(tour, "priority line, typed number refused: the card asked for", lang)
    _passed(tour, "priority line, typed number refused: the card prints its ticket", lang)
