"""The citizen's flows off the script (issue 12), on a real Kivy window under Xvfb against the
real stack: Mosquitto, the reference central service, the ID-card reader, scanner and printer
simulators (no smart card or camera: their steps are the demo tour's). The tours are data
(tests/kiosk/screens/citizen_steps.py); each test names the steps that prove one behaviour. A tour
stops at its first failing step, so a test whose steps were not reached fails too.
"""
from __future__ import annotations

import pytest

from kiosk import config
from tests.kiosk.screens.conftest import ROOT, assert_real_png, finish_tour, start_tour

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def citizen_tours(display, tmp_path_factory):
    """Both tours, one after the other, on the demo config without the smart card and the camera.
    {name: (exit code, result, output)}."""
    base = tmp_path_factory.mktemp("citizen")
    cfg = config.load(ROOT / "config" / "demo.toml")
    data = cfg.data
    for role in ("smartcard", "camera"):
        data["devices"].pop(role, None)
    path = base / "kiosk.toml"
    path.write_text(config.dump_toml(data), encoding="utf-8")
    results = {}
    for name in ("booking_tour", "citizen_tour"):
        run = base / name
        proc = start_tour(display, run, tour=f"tests.kiosk.screens.citizen_steps:{name}", config=path)
        results[name] = finish_tour(proc, run)
    return results


def _passed(tours, tour: str, *names: str) -> None:
    rc, result, output = tours[tour]
    steps = {s["name"]: s for s in result.get("steps", [])}
    for name in names:
        step = steps.get(name)
        assert step is not None, f"step {name!r} not reached: {result.get('error') or output[-3000:]}"
        assert step["passed"], step["message"]
        if step["screenshot"]:
            assert_real_png(step["screenshot"], (1280, 800))


def test_slot_colours_and_legend_match_the_states_shown(citizen_tours):
    _passed(citizen_tours, "booking_tour", "all free: blue, no grey legend", "full: grey, and the legend says so")


def test_a_typed_id_number_is_grouped_while_typed_and_masked_as_the_id_when_echoed(citizen_tours):
    _passed(citizen_tours, "booking_tour", "ID number grouped while typed", "confirm: the ID number masked, as the ID")


def test_a_card_holder_is_confirmed_with_the_masked_name_as_name_and_the_masked_id_as_id(citizen_tours):
    _passed(citizen_tours, "booking_tour", "card: name as name, ID number as ID")


def test_the_booking_outcome_shows_day_time_hall_and_window_and_prints_again(citizen_tours):
    _passed(citizen_tours, "booking_tour", "booked, paper out: day, time, hall, window on screen",
            "paper back, printed again")


def test_already_booked_offers_that_bookings_slip_and_does_not_jam_the_next_booking(citizen_tours):
    _passed(citizen_tours, "booking_tour", "already booked, with the slip offered", "the booking's slip again",
            "the next citizen is booked")


def test_garbage_scanned_on_the_walk_in_screen_is_explained(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "garbage scanned on the walk-in screen")


def test_a_walk_in_ticket_is_one_and_its_code_is_understood_here(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "walk-in ticket", "the ticket's own code scanned")


def test_a_card_on_the_progress_screen_lists_the_holders_applications_with_the_promised_date(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "card on the progress screen", "overdue: the promised date shown")


def test_the_progress_slips_code_opens_its_application(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "progress slip", "the slip's code scanned")


def test_a_card_pulled_mid_flow_is_told(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "card pulled mid-flow")


def test_consult_rate_and_complain_each_reach_the_central_service_with_a_reference(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "feedback choice", "consult sent", "rated", "complaint sent")


def test_typed_phone_numbers_are_grouped_then_masked(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "phone grouped while typed", "the phone echoed back masked",
            "the complaint's phone masked", "number grouped while typed")


def test_a_success_on_the_maintenance_screen_is_green(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "test page printed, said in green")


def test_both_tours_pass_to_the_end(citizen_tours):
    for name, (rc, result, output) in citizen_tours.items():
        assert rc == 0 and result.get("ok"), f"{name}: {result.get('error') or output[-3000:]}"


def test_a_visitor_who_walks_away_leaves_home_in_the_terminals_language_and_standard_type(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "the visitor walked away: home, the terminal's language, standard type")


def test_the_staff_pin_lock_outlives_the_maintenance_screen(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "still locked: told at once, the keypad off", "still locked: OK refused",
            "the lock over, the staff screen left alone", "unlocked after the lock")


def test_an_error_while_a_card_lists_its_applications_leads_home_not_into_a_loop(citizen_tours):
    _passed(citizen_tours, "citizen_tour", "back from the offline error: the session ended, take the card")
