"""A citizen who checked in and comes back after the check-in window closed gets the same number
again (tests/kiosk/screens/checked_in_again_steps.py; a real Kivy window under Xvfb on the real
stack)."""
from __future__ import annotations

import pytest

from tests.kiosk.screens.conftest import play_without_cards_and_camera, step_passed

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def tour(display, tmp_path_factory):
    """The tour on the demo config without the smart card and the camera (not used here)."""
    return play_without_cards_and_camera(display, tmp_path_factory.mktemp("checked-in-again"),
                                         "tests.kiosk.screens.checked_in_again_steps:checked_in_again_tour")


@pytest.mark.parametrize("step", [
    "card again: listed as checked in, not as closed",
    "the same number again, not 'check-in has closed'",
])
def test_a_citizen_checked_in_gets_the_same_number_after_the_window_closed(tour, step):
    step_passed(tour, step)


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]
