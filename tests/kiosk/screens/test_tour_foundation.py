"""The first milestone's tour on a real Kivy window under Xvfb, in both languages.

home -> check-in tile -> identify -> ID card placed (sim, from a device thread) -> appointments ->
tap on the real "confirm" widget (a MotionEvent through the window) -> ticket printed -> card
removed -> home, with no citizen data left in any widget.
"""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.integration]

SHOTS = ["01-home", "02-identify", "03-checkin-confirm", "04-checkin-done", "05-home"]


@pytest.fixture(scope="module")
def foundation(display, tmp_path_factory, tour):
    out = tmp_path_factory.mktemp("foundation") / "out"
    rc, result, output = tour(display, out, "foundation", "zh_CN,en")
    return rc, result, output, out


def test_every_step_passes(foundation):
    rc, result, output, _ = foundation
    assert rc == 0, output
    assert result["ok"] and not result["error"]
    assert all(s["passed"] for s in result["steps"])


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_screenshots_are_real_pngs_of_the_window(foundation, lang, real_png):
    _, result, output, out = foundation
    for shot in SHOTS:
        real_png(str(out / lang / f"{shot}.png"), (1280, 800))
    assert [s["screenshot"] for s in result["steps"] if s["lang"] == lang and s["screenshot"]] == \
        [str(out / lang / f"{shot}.png") for shot in SHOTS]


def test_a_ticket_was_printed_per_language(foundation):
    _, result, _, _ = foundation
    assert len(result["tickets"]) == 2
    for png in result["tickets"]:
        from PIL import Image
        with Image.open(png) as img:
            assert img.width == 576 and img.height > 400
