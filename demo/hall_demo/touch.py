"""Simulated touches on the real window (tour and tests): a tap goes through Kivy's input path.

A tap is a MotionEvent posted to the EventLoop ("begin" then "end"), exactly as the SDL2 or
mtdev provider posts a finger, so Window.on_touch_down, the session's inactivity timer and the
widget's own collision and on_press/on_release all run as for a citizen's finger.
"""
from __future__ import annotations

import itertools

from kivy.base import EventLoop
from kivy.input.motionevent import MotionEvent

_ids = itertools.count(1000)


class TapTouch(MotionEvent):
    """One finger at window pixel (x, y)."""

    def __init__(self, x: float, y: float) -> None:
        win = EventLoop.window
        super().__init__("tour", next(_ids), {"sx": x / max(1, win.width - 1), "sy": y / max(1, win.height - 1)},
                         is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args) -> None:
        self.sx, self.sy = args["sx"], args["sy"]
        super().depack(args)


def tap_at(x: float, y: float) -> None:
    """Press and release at window coordinates."""
    touch = TapTouch(x, y)
    EventLoop.post_dispatch_input("begin", touch)
    EventLoop.post_dispatch_input("end", touch)


def tap(widget) -> None:
    """Tap the centre of ``widget`` (it must be on screen and not covered)."""
    x, y = widget.to_window(widget.center_x, widget.center_y)
    tap_at(x, y)
