"""Every flow that exists, in both languages, on a real window under Xvfb (one child process).

Guide with pinyin-initial search, progress by number on the keypad, walk-in with the printer
out of paper (number large, staff alerted), feedback with a call-back phone, an elder citizen's
session with the countdown and the timeout (data wiped), offline banner and error, maintenance
behind the hidden gesture and the PIN.
"""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.integration]

SHOTS = ["01-home", "02-identify", "03-checkin-confirm", "04-checkin-done", "05-home", "06-home", "07-guide",
         "08-guide-item", "09-progress", "10-walkin", "11-ticket-paper-out", "12-feedback", "13-feedback-sent",
         "14-checkin-elder", "15-countdown", "16-timeout", "17-offline", "18-error-offline",
         "19-maintenance-pin", "20-maintenance"]


@pytest.fixture(scope="module")
def full(display, tmp_path_factory, tour):
    out = tmp_path_factory.mktemp("full") / "out"
    rc, result, output = tour(display, out, "full", "zh_CN,en")
    return rc, result, output, out


def test_every_flow_passes_in_both_languages(full):
    rc, result, output, _ = full
    assert rc == 0, output
    assert result["ok"], result["error"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_screen_has_a_real_screenshot(full, lang, real_png):
    _, _, _, out = full
    for shot in SHOTS:
        real_png(str(out / lang / f"{shot}.png"), (1280, 800))


def test_large_window_1920x1080(display, tmp_path, tour, real_png):
    out = tmp_path / "out"
    rc, result, output = tour(display, out, "foundation", "zh_CN", size="1920x1080")
    assert rc == 0, output
    real_png(str(out / "zh_CN" / "04-checkin-done.png"), (1920, 1080))
