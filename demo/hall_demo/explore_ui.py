"""The explorer's hands and eyes on the real Kivy window, from its own driver thread.

Kivy's widgets belong to the main thread (kivy#7859): the explorer's loop runs in a thread of its
own and hands every look and every tap to the main thread with ``Clock.schedule_once``, waiting
for the answer with a bound (:meth:`Ui.call`). A tap goes through the window's input path
(hall_demo.touch, as the tour taps). :meth:`Ui.settle` waits until the screen is at rest:
no service call running, no slide under way, no bus event the UI reacts to arriving, and the
frames after the last one drawn. Every wait has a bound and a reason; none sleeps.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: A bound on any single hand-over to the UI thread (s): a UI that does not answer this long is hung.
CALL_TIMEOUT_S = 60.0
#: A bound on settling after one action (s): service calls time out after 5 s (demo config) and
#: a loaded machine runs several times slower; beyond this the screen is stuck (a finding).
SETTLE_TIMEOUT_S = 90.0
#: Bus topics the UI reacts to (navigation, session, status): the screen is not at rest while
#: one of them is on its way to the main thread.
REACTIVE_PREFIXES = ("session.", "idcard.", "smartcard.", "scanner.", "camera.scan", "network.online",
                     "network.offline", "printer.", "ui.")
#: Ways back that a citizen finds on every screen (tour ids), in the order the explorer prefers.
WAYS_HOME = ("home", "msg_back", "done", "maint_back", "back")


class UiTimeout(RuntimeError):
    """The UI thread did not answer, or the screen did not come to rest, within the bound."""


@dataclass(frozen=True)
class Target:
    """A visible, enabled button or key: a stable name for the step list and where to tap."""

    name: str
    x: float
    y: float


class Ui:
    """The explorer's access to the running app (``app``), from a thread that is not Kivy's."""

    def __init__(self, app, bus) -> None:
        self.app = app
        self._events = 0               # reactive bus events seen so far
        self._lock = threading.Lock()
        self._unsub = bus.subscribe("*", self._on_event)

    def close(self) -> None:
        """Stop counting bus events."""
        self._unsub()

    def _on_event(self, event) -> None:
        if event.topic.startswith(REACTIVE_PREFIXES):
            with self._lock:
                self._events += 1

    @property
    def events(self) -> int:
        """How many reactive bus events have been published so far."""
        with self._lock:
            return self._events

    # -- the main thread ---------------------------------------------------------------------
    def call(self, fn: Callable[[], Any], what: str = "a look at the UI") -> Any:
        """Run ``fn()`` on Kivy's main thread and return its result (or raise its exception)."""
        from kivy.clock import Clock
        if threading.current_thread() is threading.main_thread():
            return fn()   # already there (a predicate that looks again): waiting would deadlock
        done = threading.Event()
        box: dict = {}

        def on_main(dt) -> None:
            try:
                box["value"] = fn()
            except BaseException as e:  # handed back to the caller
                box["error"] = e
            finally:
                done.set()
        Clock.schedule_once(on_main, 0)
        if not done.wait(CALL_TIMEOUT_S):
            raise UiTimeout(f"the UI thread did not run {what} within {CALL_TIMEOUT_S:.0f} s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def frames(self, n: int = 2) -> None:
        """Let ``n`` frames pass (what was posted before, taps and Clock callbacks, has run)."""
        for _ in range(n):
            self.call(lambda: None, "a frame")

    def wait_until(self, pred: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """Poll ``pred`` on the main thread, one frame apart, until it is truthy; UiTimeout after
        ``timeout_s`` (a hang guard) naming ``what``."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.call(pred, what)
            if value:
                return value
            if time.monotonic() > deadline:
                raise UiTimeout(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def _at_rest(self) -> bool:
        from kiosk.screens import async_call
        app = self.app
        return (not app.busy and async_call.BUSY.count == 0 and not app.sm.transition.is_active
                and not any(t.is_alive() for t in async_call._threads))

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until the screen is at rest: no call running, no slide, and no reactive bus event
        arrived during the last frames (each event is handed to the main thread by the bridge)."""
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self.events
            # An event counted before this look had its hand-over scheduled before it: it has
            # run by now. One more frame for what that hand-over scheduled in turn, and a look.
            if self.call(self._at_rest, "the screen at rest"):
                self.frames(1)
                if self.events == seen and self.call(self._at_rest, "the screen at rest"):
                    return
            if time.monotonic() > deadline:
                raise UiTimeout(f"the screen did not come to rest within {timeout_s:.0f} s "
                                "(a service call still running, or a slide)")

    # -- looking -------------------------------------------------------------------------------
    def screen(self) -> str:
        """The current screen's name."""
        return self.call(lambda: self.app.sm.current, "the screen's name")

    def targets(self) -> list[Target]:
        """The buttons and keys a finger can hit now (current screen and the top bar), in the
        widget tree's order: visible, enabled, inside the window and inside every scroll view."""
        return self.call(self._targets, "the visible buttons")

    def _targets(self) -> list[Target]:
        from kivy.core.window import Window
        from kivy.uix.behaviors import ButtonBehavior
        app = self.app
        out: list[Target] = []
        seen: dict[str, int] = {}
        for base in (app.root.children[-1], app.sm.current_screen):  # the top bar, the screen
            for w in base.walk(restrict=True):
                if not isinstance(w, ButtonBehavior) or not _shown(w):
                    continue
                x, y = w.to_window(w.center_x, w.center_y)
                if not (0 <= x < Window.width and 0 <= y < Window.height) or not _inside_scrolls(w, x, y):
                    continue
                name = _name(w)
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:
                    name = f"{name}#{seen[name]}"
                out.append(Target(name, x, y))
        return out

    def scroll_areas(self) -> list[Target]:
        """The scroll views of the current screen that have more than they show (their centres)."""
        return self.call(self._scroll_areas, "the scroll views")

    def _scroll_areas(self) -> list[Target]:
        from kivy.uix.scrollview import ScrollView
        out: list[Target] = []
        for w in self.app.sm.current_screen.walk(restrict=True):
            if isinstance(w, ScrollView) and w.children and _shown(w) and w.children[0].height > w.height + 1:
                x, y = w.to_window(w.center_x, w.center_y)
                out.append(Target(f"scroll#{len([t for t in out]) + 1}", x, y))
        return out

    def swipe(self, at: Target, dy: float) -> tuple:
        """Drag a finger vertically by ``dy`` pixels from ``at`` (up: positive), through the window's
        input path, one movement per frame as a finger moves: a scroll view scrolls. Returns the
        scroll view's ``scroll_y`` before and after."""
        from kivy.base import EventLoop

        from hall_demo.touch import TapTouch
        box: dict = {}

        def scroll_y():
            from kivy.uix.scrollview import ScrollView
            hits = [w for w in self.app.sm.current_screen.walk(restrict=True) if isinstance(w, ScrollView)
                    and _window_rect_has(w, at.x, at.y)]
            return round(hits[-1].scroll_y, 3) if hits else None

        def down() -> None:
            box["before"] = scroll_y()
            box["t"] = TapTouch(at.x, at.y)
            EventLoop.post_dispatch_input("begin", box["t"])
        self.call(down, "a finger down")
        steps = 4
        for k in range(1, steps + 1):
            def move(k=k) -> None:
                from kivy.core.window import Window
                t = box["t"]
                y = at.y + dy * k / steps
                t.move({"sx": at.x / max(1, Window.width - 1), "sy": y / max(1, Window.height - 1)})
                EventLoop.post_dispatch_input("update", t)
            self.call(move, "a finger moving")
        self.call(lambda: EventLoop.post_dispatch_input("end", box["t"]), "a finger up")
        self.frames(1)
        return box["before"], self.call(scroll_y, "the scroll position")

    def find(self, tour_id: str) -> Target | None:
        """The visible target named ``tour_id`` (None when there is none)."""
        return next((t for t in self.targets() if t.name == tour_id), None)

    def tap(self, target: Target) -> None:
        """Tap at the target through the window's input path; returns when the tap was handled."""
        from hall_demo import touch
        self.wait_for_touch_guard()
        self.call(lambda: touch.tap_at(target.x, target.y), f"a tap on {target.name}")
        self.frames(1)

    def wait_for_touch_guard(self) -> None:
        """Until the app takes touches again after a screen change it made by itself (a person
        waits too): before any finger goes down, a tap's or a typed key's."""
        guard = getattr(self.app, "touch_guard", None)
        if guard is not None:
            self.wait_until(lambda: not guard.swallows(), 5.0, "the touch guard after a screen change by itself")

    def tap_id(self, tour_id: str) -> bool:
        """Tap the visible target ``tour_id``; False when it is not there."""
        t = self.find(tour_id)
        if t is None:
            return False
        self.tap(t)
        return True


def _shown(w) -> bool:
    """Enabled, and neither it nor any parent hidden (opacity 0) or detached from the window."""
    if w.disabled or w.get_root_window() is None:
        return False
    node = w
    while node is not None and node is not node.parent:
        if getattr(node, "opacity", 1) <= 0 or node.width <= 1 or node.height <= 1:
            return False
        node = node.parent
    return True


def _window_rect_has(w, x: float, y: float) -> bool:
    """Whether window point (x, y) lies inside widget ``w``'s box."""
    x0, y0 = w.to_window(w.x, w.y)
    return x0 <= x < x0 + w.width and y0 <= y < y0 + w.height


def _inside_scrolls(w, x: float, y: float) -> bool:
    """Whether window point (x, y) is inside the visible part of every ScrollView holding ``w``."""
    from kivy.uix.scrollview import ScrollView
    node = w.parent
    while node is not None and node is not node.parent:
        if isinstance(node, ScrollView) and not _window_rect_has(node, x, y):
            return False
        node = node.parent
    return True


def _name(w) -> str:
    """A button's stable name: its tour id, else its text's first line, else its class."""
    tid = getattr(w, "tour_id", "")
    if tid:
        return tid
    text = (getattr(w, "text", "") or "").strip().splitlines()
    return f"{type(w).__name__}:{text[0][:24]}" if text else type(w).__name__
