"""How a visit ends in front of its citizen (tests/kiosk/screens/visit_end_steps.py; a real Kivy
window under Xvfb on the real stack): the card left on the reader, the ticket that did not print,
"Try again" after the central service's silence, a late citizen's confirm screen."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.conftest import play_without_cards_and_camera, step_passed

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def tour(display, tmp_path_factory):
    """The tour on the demo config without the smart card and the camera (not used here)."""
    return play_without_cards_and_camera(display, tmp_path_factory.mktemp("visit-end"),
                                         "tests.kiosk.screens.visit_end_steps:visit_end_tour")


@pytest.mark.parametrize("step", [
    "finished with the card on the reader: take your card",
    "card taken: home, the terminal's language, standard type",
])
def test_finishing_with_the_card_on_the_reader_asks_to_take_it_in_the_citizens_language_and_type(tour, step):
    step_passed(tour, step)


@pytest.mark.parametrize("step", [
    "the next person is told of the card left",
    "the card lifted: the notice goes",
    "the card placed again is read",
])
def test_a_card_left_on_the_reader_is_never_silently_ignored(tour, step):
    step_passed(tour, step)


def test_the_card_removed_notice_keeps_the_sessions_type_size(tour):
    step_passed(tour, "card pulled on the list: the notice in large type")
    step_passed(tour, "home after the list, standard type")


def test_the_number_that_did_not_print_outlives_the_pulled_card_in_large_type(tour):
    step_passed(tour, "card pulled on the ticket: the number stays")
    step_passed(tour, "done: home, standard type")


def test_no_answer_in_time_offers_try_again_which_goes_on(tour):
    step_passed(tour, "card: no answer in time, try again offered")
    step_passed(tour, "try again: the list")


def test_a_late_citizen_is_told_check_in_has_closed(tour):
    step_passed(tour, "late appointment: told it has closed")


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]
