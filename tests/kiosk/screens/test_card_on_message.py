"""A card placed on a visitor's message screen is read for check-in, as on the home screen it
stands for (tests/kiosk/screens/card_on_message_steps.py; a real Kivy window under Xvfb on the
real stack)."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.conftest import play_without_cards_and_camera, step_passed

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def tour(display, tmp_path_factory):
    """The tour on the demo config without the smart card and the camera (not used here)."""
    return play_without_cards_and_camera(display, tmp_path_factory.mktemp("card-on-message"),
                                         "tests.kiosk.screens.card_on_message_steps:card_on_message_tour")


@pytest.mark.parametrize("step", [
    "card placed on the help screen: check-in",
    "card placed again on the notice: check-in",
    "card placed on the code's message: check-in",
])
def test_a_card_placed_on_a_visitors_message_is_read_for_check_in(tour, step):
    step_passed(tour, step)


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]
