"""The walk-in screen's reasons (kiosk.screens.walkin.WHY) are only those a tap says: an offer of
"identify" opens identification instead (WHY["identify"] was dead, and its text sat in the
catalogues for translators to keep)."""
from __future__ import annotations

from kiosk.screens.walkin import WHY

#: Offers of kiosk.services.flows (walk-in offers) the screen acts on without a word of why.
ACTED_ON = ("open", "identify")


def test_every_reason_is_one_a_tap_says():
    assert set(WHY) == {"card", "age"}
    assert not set(WHY) & set(ACTED_ON)

