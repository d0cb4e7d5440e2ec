"""A second cold try's findings (tests/kiosk/screens/second_cold_try_steps.py; a real Kivy window
under Xvfb on the real stack): a session timing out with its card on the reader, and the progress
timeline's route line after switching language."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.conftest import play_without_cards_and_camera, step_passed

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def tour(display, tmp_path_factory):
    """The tour on the demo config without the smart card and the camera (not used here)."""
    return play_without_cards_and_camera(display, tmp_path_factory.mktemp("second-cold-try"),
                                         "tests.kiosk.screens.second_cold_try_steps:second_cold_try_tour")


@pytest.mark.parametrize("step", [
    "progress by card: the route line beside the levels",
    "English: the route line still beside the levels",
])
def test_the_timelines_route_line_stays_beside_its_levels_after_a_language_switch(tour, step):
    step_passed(tour, step)


@pytest.mark.parametrize("step", [
    "timed out with the card on the reader: take your card",
    "card taken at the notice: home, inviting a card",
])
def test_a_session_timing_out_with_its_card_on_the_reader_asks_to_take_it(tour, step):
    step_passed(tour, step)


@pytest.mark.parametrize("step", [
    "never taken: home by itself, saying a card is on the reader",
    "left long after: staff alerted",
    "taken at last: home invites again, the alert over",
])
def test_a_card_never_taken_leaves_home_saying_so_and_alerts_staff(tour, step):
    step_passed(tour, step)


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]
