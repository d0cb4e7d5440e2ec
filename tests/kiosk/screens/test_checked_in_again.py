"""A citizen who checked in and comes back after the check-in window closed gets the same number
again (tests/kiosk/screens/checked_in_again_steps.py; a real Kivy window under Xvfb on the real
stack)."""
from __future__ import annotations

import pytest

from kiosk import config
from tests.kiosk.screens.conftest import ROOT, finish_tour, start_tour

pytestmark = [pytest.mark.ui, pytest.mark.integration]


@pytest.fixture(scope="module")
def tour(display, tmp_path_factory):
    """The tour on the demo config without the smart card and the camera (not used here)."""
    base = tmp_path_factory.mktemp("checked-in-again")
    data = config.load(ROOT / "config" / "demo.toml").data
    for role in ("smartcard", "camera"):
        data["devices"].pop(role, None)
    path = base / "kiosk.toml"
    path.write_text(config.dump_toml(data), encoding="utf-8")
    proc = start_tour(display, base / "run", tour="tests.kiosk.screens.checked_in_again_steps:checked_in_again_tour",
                      config=path)
    return finish_tour(proc, base / "run")


@pytest.mark.parametrize("step", [
    "card again: listed as checked in, not as closed",
    "the same number again, not 'check-in has closed'",
])
def test_a_citizen_checked_in_gets_the_same_number_after_the_window_closed(tour, step):
    rc, result, output = tour
    steps = {s["name"]: s for s in result.get("steps", [])}
    assert step in steps, f"step {step!r} not reached: {result.get('error') or output[-3000:]}"
    assert steps[step]["passed"], steps[step]["message"]


def test_the_tour_passes_to_the_end(tour):
    rc, result, output = tour
    assert rc == 0 and result.get("ok"), result.get("error") or output[-3000:]
