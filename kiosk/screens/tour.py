"""The scripted tour: steps as data, played by Kivy's Clock on the UI thread, one PNG per step.

A step is (name, action, condition, screenshot): the action acts on the world (``sim``: place an ID
card, run out of paper) or on the screen (a simulated tap on a real widget found by ``tour_id``);
then the runner polls the condition every POLL_S until it holds or ``timeout_s`` passes, waits
two frames so the screen is drawn, and saves ``out_dir/<lang>/<shot>.png``. A failed step stops
the tour with a message naming it. Nothing here blocks the UI thread.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kivy.clock import Clock

from kiosk.screens import touch
from kiosk.screens.app import StepResult

log = logging.getLogger("kiosk.screens.tour")

#: How often a condition is checked (s): fast enough for a snappy tour, cheap for the UI thread.
POLL_S = 0.05


@dataclass
class Step:
    """One tour step: do ``action``, wait until ``until`` holds, then save screenshot ``shot``."""

    name: str
    action: Callable | None = None
    until: Callable | None = None
    shot: str = ""
    lang: str = "zh_CN"
    timeout_s: float = 10.0


class Ctx:
    """What actions and conditions get: the app, the sim, and helpers over the widget tree."""

    def __init__(self, app, sim) -> None:
        self.app, self.sim = app, sim

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

    def tap(self, tour_id: str) -> None:
        """Tap the widget ``tour_id`` through the window's input path (raises when it is absent)."""
        w = self.find(tour_id)
        if w is None:
            raise LookupError(f"no visible widget with tour_id {tour_id!r} on screen {self.app.sm.current!r}")
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


class TourRunner:
    """Plays steps on the Clock; fills ``result`` and stops the app at the end."""

    def __init__(self, app, steps, out_dir, sim, result) -> None:
        self.app = app
        self.steps: list[Step] = list(steps(app) if callable(steps) else steps)
        self.out_dir = Path(out_dir) if out_dir else None
        self.ctx = Ctx(app, sim)
        self.result = result
        self.i = -1
        self._deadline = 0.0
        self._ev = None

    def start(self) -> None:
        """Begin with the first step."""
        self.app.sm.transition.duration = 0  # screenshots of settled screens, not slides
        self._next()

    def _next(self) -> None:
        self.i += 1
        if self.i >= len(self.steps):
            self._finish()
            return
        step = self.steps[self.i]
        try:
            if step.action is not None:
                step.action(self.ctx)
        except Exception as e:
            return self._fail(step, f"action failed: {type(e).__name__}: {e}")
        self._deadline = Clock.get_time() + step.timeout_s
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
        self.result.steps.append(StepResult(step.name, step.lang, True, "", path))
        log.info("tour step passed", extra={"step": step.name})
        self._next()

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


# -- the tours ---------------------------------------------------------------------------------
def _tickets_printed(n: int) -> Callable:
    def cond(ctx: Ctx):
        return len(ctx.sim.tickets()) >= n if ctx.sim is not None else True
    return cond


def no_citizen_traces(ctx: Ctx, card: int) -> bool:
    """True when no widget text (any screen) holds citizen ``card``'s name or ID, masked or not."""
    from kiosk import privacy
    from kiosk.screens.fakes import CITIZENS
    c = CITIZENS[card % len(CITIZENS)]
    needles = {c["name"], c["id_number"], privacy.mask_name(c["name"]), privacy.mask_id(c["id_number"]),
               c["id_number"][-4:] + "", c["address"][:10]}
    texts = ctx.texts()
    return not any(n and n in t for n in needles for t in texts)


def foundation_steps(lang: str = "zh_CN", card: int = 0) -> list[Step]:
    """home -> check-in tile -> identify -> card placed -> choose -> confirm -> ticket -> card removed -> home."""
    def set_lang(ctx: Ctx) -> None:
        if ctx.app.lang != lang:
            ctx.tap("lang")

    def lang_is(ctx: Ctx):
        return ctx.app.lang == lang and ctx.app.sm.current == "home"
    lang_is.__doc__ = f"language {lang}"

    def tickets_before(ctx: Ctx):
        ctx.tickets0 = len(ctx.sim.tickets()) if ctx.sim is not None else 0
        ctx.sim.place_card(card)

    def printed(ctx: Ctx):
        return ctx.app.sm.current == "ticket" and ctx.app.sm.current_screen.printed and \
            (ctx.sim is None or len(ctx.sim.tickets()) > ctx.tickets0)
    printed.__doc__ = "the ticket screen saying the ticket was printed"

    def wiped(ctx: Ctx):
        return ctx.app.sm.current == "home" and no_citizen_traces(ctx, card)
    wiped.__doc__ = "home, and no widget anywhere showing the citizen's name or ID number"
    return [
        Step("home", set_lang, lang_is, "01-home", lang),
        Step("identify", lambda c: c.tap("tile_checkin"), on_screen("identify"), "02-identify", lang),
        Step("card placed", tickets_before, on_screen("checkin", ready=lambda c: c.screen.status == "loaded"), "", lang),
        Step("choose appointment", lambda c: c.tap("appt_0"), on_screen("checkin_confirm"), "03-checkin-confirm", lang),
        Step("confirm", lambda c: c.tap("confirm"), printed, "04-checkin-done", lang),
        Step("card removed", lambda c: c.sim.remove_card(), wiped, "05-home", lang),
    ]


def foundation_tour(languages=("zh_CN",)) -> list[Step]:
    """The first milestone's tour, in each language."""
    steps: list[Step] = []
    for lang in languages:
        steps += foundation_steps(lang)
    return steps


#: The staff PIN the demo and test runtimes are configured with (never a production PIN).
DEMO_PIN = "2468"


def _ensure_lang(lang: str) -> Callable:
    def act(ctx: Ctx) -> None:
        if ctx.app.lang != lang:
            ctx.tap("lang")
    return act


def _type(keys: str) -> Callable:
    def act(ctx: Ctx) -> None:
        for k in keys:
            ctx.tap(f"key_{k}")
    return act


def _taps(*ids: str) -> Callable:
    def act(ctx: Ctx) -> None:
        for i in ids:
            ctx.tap(i)
    return act


def _cond(doc: str, fn: Callable) -> Callable:
    fn.__doc__ = doc
    return fn


def full_steps(lang: str) -> list[Step]:
    """Every flow that exists, in one language: guide, progress, walk-in with no paper, feedback,
    elder session with countdown and timeout, offline, an error, maintenance."""
    home = on_screen("home")
    S = lambda name, action, until, shot="", **kw: Step(name, action, until, shot, lang, **kw)  # noqa: E731

    def home_in_lang(ctx: Ctx):
        return ctx.app.sm.current == "home" and ctx.app.lang == lang
    home_in_lang.__doc__ = f"home in {lang}"

    def elder_timeout(ctx: Ctx) -> float:
        return ctx.app.services.sessions.effective_timeout_s()

    return [
        S("home", _ensure_lang(lang), home_in_lang, "01-home"),
        S("guide", lambda c: c.tap("tile_guide"), on_screen("guide", ready=lambda c: c.find("item_0") is not None), "02-guide"),
        S("guide search lnyd", _taps("letter_l", "letter_n", "letter_y", "letter_d"),
          on_screen("guide", ready=lambda c: c.screen.query == "lnyd" and c.find("item_0") is not None
                    and c.find("item_1") is None)),
        S("guide item", lambda c: c.tap("item_0"), on_screen("guide_item", ready=lambda c: bool(c.screen.body)), "03-guide-item"),
        S("home", lambda c: c.tap("home"), home),
        S("progress", _ensure_lang(lang), home_in_lang),
        S("progress entry", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("progress number", _type("2026112000123"),
          on_screen("progress", ready=lambda c: c.screen.ids.keypad.value == "2026112000123")),
        S("progress shown", lambda c: c.tap("lookup"), on_screen("progress", ready=lambda c: c.screen.status == "shown"), "04-progress"),
        S("home", lambda c: c.tap("home"), home),
        S("walk-in", _ensure_lang(lang), home_in_lang),
        S("walk-in lines", lambda c: c.tap("tile_walkin"), on_screen("walkin", ready=lambda c: c.find("line_0") is not None), "05-walkin"),
        S("ticket, no paper", lambda c: (c.sim.set_paper_out(True), c.tap("line_0")),
          on_screen("ticket", ready=lambda c: not c.screen.printed and bool(c.screen.queue_no)), "06-ticket-paper-out"),
        S("paper loaded", lambda c: (c.sim.set_paper_out(False), c.tap("done")), home),
        S("feedback", _ensure_lang(lang), home_in_lang),
        S("feedback open", lambda c: c.tap("tile_feedback"), on_screen("feedback")),
        S("feedback form", lambda c: (c.tap("rate_2"), c.tap("reason_waiting"), _type("13812345678")(c)),
          on_screen("feedback", ready=lambda c: c.screen.rating == 2), "07-feedback"),
        S("feedback sent", lambda c: c.tap("submit"), on_screen("feedback", ready=lambda c: c.screen.sent == "yes"), "08-feedback-sent"),
        S("home", lambda c: c.tap("home"), home),
        S("elder card", lambda c: c.sim.place_card(1),
          _cond("check-in in elder mode", lambda c: c.app.sm.current == "checkin" and c.app.elder
                and c.screen.status == "loaded"), "09-checkin-elder"),
        S("countdown", lambda c: c.sim.advance(elder_timeout(c) - 10),
          _cond("the countdown", lambda c: 0 < c.app.countdown <= 15), "10-countdown"),
        S("timeout", lambda c: c.sim.advance(11),
          _cond("the timeout screen, data wiped", lambda c: c.app.sm.current == "message" and c.screen.kind == "timeout"
                and no_citizen_traces(c, 1)), "11-timeout"),
        S("card taken", lambda c: (c.sim.remove_card(), c.tap("msg_back")), home),
        S("offline", lambda c: c.sim.set_online(False), _cond("offline banner", lambda c: not c.app.online), "12-offline"),
        S("offline identify", lambda c: (_ensure_lang(lang)(c), c.tap("tile_checkin")), on_screen("identify")),
        S("offline check-in", lambda c: c.sim.place_card(0),
          _cond("the offline error", lambda c: c.app.sm.current == "message" and c.screen.code == "network.offline"),
          "13-error-offline"),
        S("online again", lambda c: (c.sim.set_online(True), c.sim.remove_card()),
          _cond("home, online", lambda c: c.app.sm.current == "home" and c.app.online and no_citizen_traces(c, 0))),
        S("maintenance", lambda c: [touch.tap_at(8, c.app.root.height - 8) for _ in range(5)],
          on_screen("maintenance"), "14-maintenance-pin"),
        S("maintenance unlocked", lambda c: (_type(DEMO_PIN)(c), c.tap("pin_ok")),
          on_screen("maintenance", ready=lambda c: c.screen.unlocked and bool(c.screen.report)), "15-maintenance"),
        S("back home", lambda c: c.tap("maint_back"), home),
    ]


def full_tour(languages=("zh_CN", "en")) -> list[Step]:
    """The foundation tour and every other flow, in each language."""
    steps: list[Step] = []
    for lang in languages:
        n = 0
        for step in foundation_steps(lang) + full_steps(lang):
            if step.shot:  # number the screenshots in order: NN-<screen>
                n += 1
                step.shot = f"{n:02d}-{step.shot.split('-', 1)[1]}"
            steps.append(step)
    return steps
