"""A booking slip printed again while the paper is still out says so: before, the same words came
back and the tap looked as if it did nothing (a cold try). The real screen on stand-in services
(tests/kiosk/screens/screen_probe.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.kiosk.screens.screen_probe import probe

pytestmark = [pytest.mark.ui]

BOOKED = {"appointment_id": "A1", "item_code": "110", "item_name": "居民身份证换领", "item_name_en": "ID card renewal",
          "date": "2026-03-19", "start": "09:00", "end": "09:30", "window": "C01"}


def drive_reprint_without_paper(app, ui) -> dict:
    from kiosk.services.checkin import PrintOutcome
    tries: list = []

    def print_slip(result):
        tries.append(result["appointment_id"])
        return PrintOutcome(False)
    app.services.booking = SimpleNamespace(
        outcome=lambda r: {"item": r["item_name"], "date": r["date"], "start": r["start"], "end": r["end"],
                           "hall": "", "window": r["window"]},
        print_slip=print_slip)
    screen = app.sm.get_screen("book_done")
    ui.call(lambda: app.go("book_done", result=BOOKED, printed=PrintOutcome(False)))
    ui.frames(2)
    first = ui.call(lambda: screen.ids.print_status.text)
    ui.tap_id("print_again")
    ui.wait_until(lambda: tries and screen.printed not in ("printing", "no"), 10.0, "the reprint's outcome")
    ui.frames(2)
    return {"tries": len(tries), "first": first, "after": ui.call(lambda: screen.ids.print_status.text),
            "again_shown": ui.call(lambda: ui.find("print_again") is not None)}


def test_a_reprint_without_paper_says_it_is_still_not_printed(display, tmp_path, font_cache):
    out = probe(display, tmp_path, "tests.kiosk.screens.test_book_reprint:drive_reprint_without_paper", "book",
                font_dir=font_cache)
    assert out["tries"] == 1 and "未能打印" in out["first"], out
    assert out["after"] != out["first"] and "仍未能打印" in out["after"], out
    assert out["again_shown"], out   # the citizen can try once more when staff have refilled it
