"""Touches swallowed for a moment after the screen changed by itself (a timeout, not a tap).

A message that goes home by itself (the session's timeout notice, a card-removed notice), an idle
visit sent home: the citizen may be reaching for the message's button at that very moment, and the
tap then lands on whatever the new screen has there (a cold try: home's booking tile, under the
message's Home button, opened booking). The app arms the guard when it changes the screen on its
own; the window's touch-down handler asks it (KioskApp._on_window_touch).
"""
from __future__ import annotations

import time
from collections.abc import Callable

#: How long (s) touch-downs are swallowed once the new screen is in place. Why 0.4 s: a tap that
#: was already on its way when the screen changed (a finger moving toward the button, 0.2-0.3 s
#: from decision to contact, plus the press itself) lands within it, while a citizen who reacts to
#: the new screen needs longer than that to see it and choose a tile (visual reaction alone is
#: about 0.25 s, reading a tile more), so no deliberate tap is lost.
GUARD_S = 0.4


class TouchGuard:
    """Whether a touch-down now is to be swallowed (``swallows``), after ``arm``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self.why = ""

    def arm(self, why: str, settle_s: float = 0.0) -> None:
        """The screen is changing by itself (``why``: for the log); ``settle_s``: how long until
        the new screen is in place (the screen manager's slide, during which it ignores touches)."""
        self._until = self._clock() + settle_s + GUARD_S
        self.why = why

    def left(self) -> float:
        """Seconds the guard still swallows touches (0 when it is down)."""
        return max(0.0, self._until - self._clock())

    def swallows(self) -> bool:
        """Whether a touch-down now is swallowed."""
        return self.left() > 0
