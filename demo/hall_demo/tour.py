"""The scripted tour: steps as data, played by Kivy's Clock on the UI thread, one PNG per step.

A step is (name, action, condition, screenshot): the action acts on the world (``sim``: place an ID
card, run out of paper) or on the screen (a simulated tap on a real widget found by ``tour_id``);
then the runner polls the condition every POLL_S until it holds or ``timeout_s`` passes, waits
two frames so the screen is drawn, and saves ``out_dir/<lang>/<shot>.png``. An action whose first
tap finds no target yet (a list still laying out) runs again on the next poll, within the bound.
A failed step stops the tour with a message naming it. Nothing here blocks the UI thread.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kivy.clock import Clock

from hall_demo import touch
from kiosk.screens.i18n import chinese_on_screen

log = logging.getLogger("hall_demo.tour")

#: How often a condition is checked (s): fast enough for a snappy tour, cheap for the UI thread.
POLL_S = 0.05
#: How long a self-dismissing message waits for its step during a tour (s): longer than any step.
TOUR_AUTO_HOME_S = 600.0


@dataclass
class Step:
    """One tour step: do ``action``, wait until ``until`` holds, then save screenshot ``shot``."""

    name: str
    action: Callable | None = None
    until: Callable | None = None
    shot: str = ""
    lang: str = "zh_CN"
    #: A bound against hangs, never a speed check: a loaded 2-core machine runs the same steps
    #: several times slower (measured: most steps take well under a second when quiet).
    timeout_s: float = 30.0


class NotYet(LookupError):
    """An action's first tap found no target yet (a list still laying out its rows): the runner
    tries the action again on the next poll, within the step's bound."""


class Ctx:
    """What actions and conditions get: the app, the sim, the run's output directory (None when
    nothing is saved) and helpers over the widget tree."""

    # What steps keep between their action and their condition (hall_demo.tour_steps, and the
    # citizen steps of tests/kiosk/screens).
    tickets0: int
    code: str
    release: threading.Event
    close_refused: bool
    filled: threading.Event
    ticket_code: str | None
    slip_no: str
    slip_code: str
    visit_gone: threading.Event

    def __init__(self, app, sim, out_dir: Path | None = None) -> None:
        self.app, self.sim, self.out_dir = app, sim, out_dir
        self.taps = 0   # taps posted by the action running now

    @property
    def screen(self):
        """The current screen."""
        return self.app.sm.current_screen

    def find(self, tour_id: str, root=None):
        """The visible widget with ``tour_id`` (current screen first, then the whole window)."""
        for base in ([root] if root is not None else [self.app.sm.current_screen, self.app.root]):
            for w in base.walk(restrict=True):
                if getattr(w, "tour_id", None) == tour_id and not w.disabled and w.opacity > 0:
                    return w
        return None

    def tap(self, tour_id: str, *, while_busy: bool = False) -> None:
        """Tap the widget ``tour_id`` through the window's input path (raises when it is absent).

        While the busy overlay is up (a service call runs) the first tap of an action waits for it
        to go, as a person does: the overlay swallows touches, and the staff call's alert still
        being sent swallowed the tap on "首页" that followed it (the tour then waited 30 s for
        home, run 10 of a loaded series). ``while_busy``: tap anyway (the step that shows the
        overlay swallowing a tap)."""
        from kiosk.screens import async_call
        overlay = getattr(self.app, "busy", None)   # the kiosk app's overlay (the mobile app has none)
        if not while_busy and self.taps == 0 and overlay is not None and (overlay or async_call.BUSY.count > 0):
            raise NotYet(f"the busy overlay is up: a tap on {tour_id!r} now would be swallowed")
        guard = getattr(self.app, "touch_guard", None)   # just after the screen changed by itself
        if self.taps == 0 and guard is not None and guard.swallows():
            raise NotYet(f"the screen just changed by itself ({guard.why}): a tap on {tour_id!r} now would be swallowed")
        w = self.find(tour_id)
        if w is None:
            # Before the action's first tap nothing was done on screen yet: it can run again once
            # the target shows (a RecycleView lays its rows out over a frame or two and reuses
            # them). After a tap, a missing target is the step's failure.
            error = NotYet if self.taps == 0 else LookupError
            raise error(f"no visible widget with tour_id {tour_id!r} on screen {self.app.sm.current!r}")
        self.taps += 1
        touch.tap(w)

    def texts(self) -> list[str]:
        """Every text in the whole widget tree (all screens, shown or not)."""
        out = []
        for w in self.app.root.walk():
            if isinstance(getattr(w, "text", None), str) and w.text:
                out.append(w.text)
        for s in self.app.sm.screens:
            for w in s.walk():
                if isinstance(getattr(w, "text", None), str) and w.text:
                    out.append(w.text)
        return out

    def shown_whole(self, tour_id: str) -> bool:
        """Whether the widget ``tour_id`` is on screen in full: inside the window and inside every
        scroll view it sits in (one whose edge cuts it shows the citizen half a line)."""
        from kivy.core.window import Window
        from kivy.uix.scrollview import ScrollView
        w = self.find(tour_id)
        if w is None or not w.height:
            return False
        x0, y0 = w.to_window(w.x, w.y)
        x1, y1 = w.to_window(w.right, w.top)
        boxes = [(0.0, 0.0, float(Window.width), float(Window.height))]
        parent = w.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                px0, py0 = parent.to_window(parent.x, parent.y)
                px1, py1 = parent.to_window(parent.right, parent.top)
                boxes.append((px0, py0, px1, py1))
            parent = parent.parent
        return all(bx0 - 0.5 <= x0 and by0 - 0.5 <= y0 and x1 <= bx1 + 0.5 and y1 <= by1 + 0.5
                   for bx0, by0, bx1, by1 in boxes)

    def shows(self, fragment: str) -> bool:
        """Whether any widget of the current screen shows ``fragment``."""
        return any(fragment in (getattr(w, "text", "") or "") for w in self.screen.walk()
                   if isinstance(getattr(w, "text", None), str))


def on_screen(name: str, *, shows: str | None = None, ready: Callable | None = None) -> Callable:
    """A condition: the current screen is ``name`` (and shows ``shows``, and ``ready(ctx)``)."""
    def cond(ctx: Ctx):
        if ctx.app.sm.current != name or ctx.app.sm.transition.is_active:
            return False
        if shows is not None and not ctx.shows(shows):
            return False
        return ready(ctx) if ready else True
    cond.__doc__ = f"screen {name!r}" + (f" showing {shows!r}" if shows else "")
    return cond


@dataclass
class StepResult:
    """One tour step: passed or not, why, and its screenshot."""

    name: str
    lang: str
    passed: bool
    message: str = ""
    screenshot: str | None = None
    small_targets: list = field(default_factory=list)   # buttons under TOUCH_MM on that screen
    chinese: list = field(default_factory=list)         # texts with Chinese on an English step's screen


@dataclass
class RunResult:
    """What ``run_app`` returns: the tour's steps and screenshots (``ok`` when all passed)."""

    steps: list[StepResult] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when there was no error and every step passed."""
        return not self.error and all(s.passed for s in self.steps)

    @property
    def screenshots(self) -> list[str]:
        """Paths of the saved screenshots, in order."""
        return [s.screenshot for s in self.steps if s.screenshot]

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {"ok": self.ok, "error": self.error, "steps": [vars(s) for s in self.steps]}


def play(steps, services, settings, *, out_dir=None, sim=None, inspector=None, **kw) -> RunResult:
    """Run the touchscreen of the services' profile (the kiosk app, or the mobile app) on
    ``services`` with ``settings`` (as ``kiosk run`` does: kiosk.screens.app.run_touchscreen) and
    play ``steps`` in it; ``kw`` goes to :func:`kiosk.screens.app.run_app` (size, dpi, on_stop).
    ``inspector(ctx, step, done)``: called at every step once its state is drawn (the layout
    check). Returns the tour's result."""
    result = RunResult()

    def driver(app):
        return TourRunner(app, steps, out_dir, sim, result, inspector=inspector)
    from kiosk.screens.app import run_touchscreen
    app = run_touchscreen(services, settings, driver=driver, **kw)
    if app.ui_error:
        result.error = result.error or app.ui_error
    return result


class TourRunner:
    """Plays steps on the Clock; fills ``result`` and stops the app at the end."""

    def __init__(self, app, steps, out_dir, sim, result, inspector=None) -> None:
        self.app = app
        #: ``inspector(ctx, step, done)``, called once each step's state is drawn; it may take
        #: frames (it calls ``done()`` when finished). The layout check (hall_demo) uses it.
        self.inspector = inspector
        self.steps: list[Step] = list(steps(app) if callable(steps) else steps)
        self.out_dir = Path(out_dir) if out_dir else None
        self.ctx = Ctx(app, sim, self.out_dir)
        self.result = result
        self.i = -1
        self._deadline = 0.0
        self._ev = None

    def start(self) -> None:
        """Begin with the first step."""
        self.app.sm.transition.duration = 0  # screenshots of settled screens, not slides
        # Messages that go home by themselves (timeout, card removed) stay until tapped: the
        # steps photograph and check them, and on a busy machine a few seconds pass between two
        # frames; a session timing out on its own during the countdown step then still shows it.
        self.app.auto_home_s = TOUR_AUTO_HOME_S
        self._next()

    def _next(self) -> None:
        self.i += 1
        if self.i >= len(self.steps):
            self._finish()
            return
        self._deadline = Clock.get_time() + self.steps[self.i].timeout_s
        self._act()

    def _act(self, *_) -> None:
        step = self.steps[self.i]
        self.ctx.taps = 0
        try:
            if step.action is not None:
                step.action(self.ctx)
        except NotYet as e:
            if Clock.get_time() > self._deadline:
                return self._fail(step, f"action failed: {e} (waited {step.timeout_s:.0f} s)")
            Clock.schedule_once(self._act, POLL_S)
            return
        except Exception as e:
            return self._fail(step, f"action failed: {type(e).__name__}: {e}")
        self._ev = Clock.schedule_interval(self._poll, POLL_S)

    def _poll(self, dt) -> bool:
        step = self.steps[self.i]
        try:
            ok = step.until(self.ctx) if step.until is not None else True
        except Exception as e:
            self._fail(step, f"condition raised {type(e).__name__}: {e}")
            return False
        if ok:
            Clock.schedule_once(lambda dt: Clock.schedule_once(lambda dt2: self._shoot(step), 0), 0)
            return False
        if Clock.get_time() > self._deadline:
            what = getattr(step.until, "__doc__", None) or "the condition"
            self._fail(step, f"timed out after {step.timeout_s:.0f} s waiting for {what}; "
                             f"screen is {self.app.sm.current!r}")
            return False
        return True

    def _shoot(self, step: Step) -> None:
        path = None
        if step.shot and self.out_dir is not None:
            target = self.out_dir / step.lang / f"{step.shot}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            path = str(screenshot(target))
        small = small_targets(self.app) if step.shot else []
        chinese = chinese_on_screen(self.app) if step.shot and step.lang == "en" else []
        self.result.steps.append(StepResult(step.name, step.lang, True, "", path, small, chinese))
        log.info("tour step passed", extra={"step": step.name})
        if self.inspector is None:
            self._next()
            return
        try:
            self.inspector(self.ctx, step, self._next)
        except Exception as e:
            # where it failed (the innermost frame): a stop in the inspector is a defect to find
            frame = traceback.extract_tb(e.__traceback__)[-1]
            log.exception("inspection failed", extra={"step": step.name})
            self._fail(step, f"inspection failed: {type(e).__name__}: {e} "
                             f"({Path(frame.filename).name}:{frame.lineno} {frame.line})")

    def _fail(self, step: Step, message: str) -> None:
        msg = f"step {self.i + 1} {step.name!r} ({step.lang}): {message}"
        log.error("tour step failed", extra={"step": step.name, "why": message})
        path = None
        if self.out_dir is not None:
            target = self.out_dir / step.lang / f"FAILED-{step.shot or step.name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            path = str(screenshot(target))
        self.result.steps.append(StepResult(step.name, step.lang, False, msg, path))
        self.result.error = msg
        self._finish()

    def _finish(self) -> None:
        Clock.schedule_once(lambda dt: self.app.stop(), 0.1)


def screenshot(target: Path) -> Path:
    """Save the window as ``target`` (Window.screenshot numbers its files: render then rename)."""
    from kivy.core.window import Window  # not at import: importing Window creates it
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-shot-"))
    try:
        saved = Window.screenshot(name=str(tmp / "shot.png"))
        shutil.move(saved, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# -- checks every screenshot step makes --------------------------------------------------------
def small_targets(app) -> list[str]:
    """Enabled, visible buttons of the current screen (and the top bar) smaller than TOUCH_MM at
    the display's DPI (Kivy's Metrics.dpi: KIVY_DPI or the panel's), as "tour_id WxH" strings."""
    from kivy.metrics import Metrics
    from kivy.uix.button import Button

    from kiosk.screens.theme import touch_px
    need = touch_px(Metrics.dpi) - 0.5  # half a pixel of rounding in the layout
    out = []
    for base in (app.sm.current_screen, app.root.children[-1]):   # the screen, the top bar
        for w in base.walk(restrict=True):
            if isinstance(w, Button) and not w.disabled and w.opacity > 0 and w.get_root_window() is not None:
                if min(w.width, w.height) < need:
                    out.append(f"{getattr(w, 'tour_id', '') or w.text[:12]} {w.width:.0f}x{w.height:.0f}")
    return out


def live_widget_texts() -> list[str]:
    """The text of every Kivy widget alive in this process: in the window, in a screen that was
    dropped but not yet collected, or kept alive by a stray reference."""
    import gc

    from kivy.uix.widget import Widget
    # type(), not isinstance(): Kivy's WeakProxy objects pass isinstance (they forward __class__)
    # and raise ReferenceError once their widget is gone.
    return [w.text for w in gc.get_objects()
            if issubclass(type(w), Widget) and isinstance(getattr(w, "text", None), str) and w.text]


def no_citizen_traces(ctx: Ctx, card: int) -> bool:
    """True when no widget text holds demo citizen ``card``'s name or ID number, masked or not
    (the seed's demo citizens are the ones the simulators' cards carry): neither in the window
    (any screen) nor in any other widget still alive, such as a screen dropped after the session."""
    from hall_central.seed import demo_citizens
    from hall_common import privacy
    c = demo_citizens()[card]
    needles = {c["name"], c["id_number"], privacy.mask_name(c["name"]), privacy.mask_id(c["id_number"]),
               c["address"][:10]}
    return not any(n and n in t for n in needles for t in ctx.texts() + live_widget_texts())
