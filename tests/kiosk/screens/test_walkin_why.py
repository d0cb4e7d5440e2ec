"""The walk-in screen's reasons (kiosk.screens.walkin.WHY) are only those said: an offer of
"identify" opens identification instead (WHY["identify"] was dead, and its text sat in the
catalogues for translators to keep). Each is said in a message of its own kind (WHY_KIND): a card
still needed is never "This line is not open to you" (a cold try told an eligible 68-year-old that)."""
from __future__ import annotations

from kiosk.screens.message import KINDS
from kiosk.screens.walkin import WHY, WHY_KIND


def test_every_reason_is_one_that_is_said():
    assert set(WHY) == {"card", "age"}
    assert "identify" not in WHY and "open" not in WHY


def test_each_reason_has_its_message_and_a_card_needed_is_not_a_closed_line():
    assert set(WHY_KIND) == set(WHY) and all(kind in KINDS for kind in WHY_KIND.values())
    assert WHY_KIND["card"] != "line_not_open"
    assert "{detail}" in KINDS[WHY_KIND["card"]][1]
