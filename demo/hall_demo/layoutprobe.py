"""The Kivy side of the layout check: what the window shows, as plain data, at one tour state.

:func:`snapshot` walks the live widget tree of the running KioskApp and records, for every widget
a citizen can see (the header, the banners, the current screen, the overlays), its rectangle in
window pixels (after Screen and ScrollView transforms, clipped by the ScrollView it sits in),
whether it is a touch target or a filled box, and for text: the rendered lines (position and
text, from Kivy's own layout of the label), the font sizes, and whether Kivy dropped or
shortened part of the text. :mod:`hall_demo.layoutrules` judges the data; nothing here decides.

:class:`Inspector` is the tour's per-step hook: at each new state it takes a snapshot in the mode
the tour is in, switches the type size (``app.elder``) to the other mode, waits until the layout
is stable, takes the second snapshot and switches back. Asked for review screenshots
(hall_demo.reviewshots: ``make demo``, ``kiosk check-layout --shots``), it photographs each new
(screen, step) of a language's tour in both type sizes on the way.
"""
from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hall_demo.reviewshots import ReviewShots

#: Markup size tags as the Tile writes them ("[size=31.2px]").
_SIZE_TAG = re.compile(r"\[size=([0-9.]+)(?:px)?\]")
_MARKUP = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")
#: How many frames a relayout may take before the snapshot is taken anyway (each waits one frame;
#: Kivy settles nested layouts and label textures within one or two).
MAX_SETTLE_FRAMES = 12


def plain_text(text: str, markup: bool) -> str:
    """The text as shown: markup tags removed, Kivy's escapes undone."""
    if not markup:
        return text
    return _MARKUP.sub("", text).replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")


def _rect(w) -> tuple[float, float, float, float]:
    x, y = w.to_window(w.x, w.y)
    return (float(x), float(y), float(w.width), float(w.height))


def _intersect(a, b):
    if a is None:
        return b
    if b is None:
        return a
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def _filled(w) -> bool:
    """Whether the widget paints an opaque box behind its children: a button, or a coloured
    rectangle in its ``canvas.before`` (the bars, cards and banners of the .kv files)."""
    from kivy.graphics import Color
    from kivy.uix.button import Button
    from kivy.uix.screenmanager import Screen, ScreenManager
    if isinstance(w, Button):
        return True
    if isinstance(w, (Screen, ScreenManager)):
        return False   # their canvas paints transitions, not a box
    alpha = 1.0
    for ins in w.canvas.before.children if w.canvas.before is not None else []:
        if isinstance(ins, Color):
            alpha = ins.rgba[3]
        elif ("Rectangle" in type(ins).__name__ or "BorderImage" in type(ins).__name__) and alpha > 0.3:
            return True
    return False


def _text_info(w) -> dict | None:
    """Rendered lines of a Label in window pixels, font sizes, and what Kivy left out."""
    from kivy.uix.label import Label
    if not isinstance(w, Label) or not (w.text or "").strip():
        return None
    trigger = getattr(w, "_trigger_texture", None)
    if trigger is not None and trigger.is_triggered:
        w.texture_update()   # the text changed since the last frame (the clock): judge what will show
    core = w._label
    tw, th = w.texture_size
    ox, oy = w.to_window(w.center_x - tw / 2.0, w.center_y - th / 2.0)
    lines = []
    for ln in getattr(core, "_cached_lines", []) or []:
        text = "".join(word.text for word in ln.words)
        if not text.strip():
            continue
        lx, ly = float(getattr(ln, "x", 0) or 0), float(getattr(ln, "y", 0) or 0)
        lines.append({"text": text, "rect": (ox + lx, oy + th - ly - ln.h, float(ln.w), float(ln.h))})
    full = plain_text(w.text, bool(w.markup))
    sizes = [float(s) for s in _SIZE_TAG.findall(w.text)] if w.markup else []
    return {"text": full, "lines": lines, "fonts": sizes or [float(w.font_size)],
            "texture": (float(ox), float(oy), float(tw), float(th)),
            "shortened": bool(getattr(w, "is_shortened", False)),
            "wraps": w.text_size[0] is not None, "halign": w.halign}


def snapshot(app) -> dict:
    """Every visible widget of the window, as data (see the module docstring)."""
    from kivy.core.window import Window
    from kivy.uix.button import Button
    from kivy.uix.label import Label
    from kivy.uix.screenmanager import ScreenManager
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.stencilview import StencilView

    from kiosk.screens.widgets import BusyOverlay, TopBar
    records: list[dict] = []
    scrolls: list[dict] = []
    sm = app.sm

    def visit(w, role: str, clip, ancestors: tuple, hidden_parent: bool) -> None:
        if w.opacity <= 0.05 or hidden_parent:
            return
        if isinstance(w, BusyOverlay) and not w.active:
            return
        if isinstance(w, TopBar):
            role = "header"
        elif isinstance(w, BusyOverlay):
            role = "modal"
        rect = _rect(w)
        seen = _intersect(rect, clip) if clip is not None else rect
        rec = {"uid": id(w), "cls": type(w).__name__, "tour_id": getattr(w, "tour_id", "") or "",
               "role": role, "rect": rect, "seen": seen, "clip": clip, "ancestors": list(ancestors),
               "interactive": isinstance(w, Button) and not w.disabled,
               "button": isinstance(w, Button), "filled": _filled(w),
               "text": None}
        if isinstance(w, Label):
            rec["text"] = _text_info(w)
        if isinstance(w, ScrollView):
            content = w.children[0] if w.children else None
            scrolls.append({"uid": id(w), "rect": rect, "role": role, "ancestors": list(ancestors),
                            "content": (float(content.width), float(content.height)) if content else (0.0, 0.0),
                            "do_scroll_y": bool(w.do_scroll_y), "bar_width": float(w.bar_width),
                            "bar_inactive_alpha": float(w.bar_inactive_color[3]),
                            "bar_alpha": float(w.bar_color[3]),
                            "indicator": bool(getattr(w, "scroll_indicator", False))})
        if rect[2] >= 1 and rect[3] >= 1 or rec["text"]:
            records.append(rec)
        child_clip = _intersect(clip, rect) if isinstance(w, StencilView) else clip
        kids = list(reversed(w.children))       # drawing order
        if isinstance(w, ScreenManager):
            kids = [sm.current_screen] if w is sm and sm.current_screen is not None else kids[:1]
            role = "screen"
        for c in kids:
            visit(c, role, child_clip, ancestors + (id(w),), False)

    for child in reversed(app.root.children):
        visit(child, "banner", None, (), False)
    header = next((r for r in records if r["role"] == "header" and r["cls"] == "TopBar"), None)
    return {"screen": sm.current, "window": (float(Window.width), float(Window.height)),
            "k": float(app.k), "elder": bool(app.elder), "lang": app.lang, "citizen_text": app.citizen_text,
            "screen_area": _rect(sm), "header": header["rect"] if header else None,
            "widgets": records, "scrolls": scrolls}


def geometry_key(snap: dict) -> str:
    """A digest of what a snapshot shows (rectangles and rendered lines): equal when settled."""
    h = hashlib.sha1()
    for r in snap["widgets"]:
        h.update(repr((r["rect"], r["seen"], r["text"] and r["text"]["texture"],
                       r["text"] and [ln["text"] for ln in r["text"]["lines"]])).encode())
    return h.hexdigest()


#: The header's clock ("12-04 10:05"): a minute passing is not another state of a screen.
_CLOCK = re.compile(r"\d{1,2}:\d{2}")


def state_key(snap: dict, *, clock: bool = True) -> str:
    """What identifies a state for de-duplication: the screen, the language, the mode and the
    texts and targets shown (the same home screen reached twenty times is checked once).
    ``clock=False``: the time in the header does not count (the review screenshots)."""
    h = hashlib.sha1()
    h.update(repr((snap["screen"], snap["lang"], snap["elder"])).encode())
    for r in snap["widgets"]:
        text = r["text"] and r["text"]["text"]
        if text and not clock and r["role"] == "header":
            text = _CLOCK.sub("HH:MM", text)
        h.update(repr((r["cls"], r["tour_id"], r["role"], r["interactive"], text, r["rect"][2:])).encode())
    return h.hexdigest()


class Inspector:
    """The tour's hook: snapshots of each new state in both type sizes (see the module docstring).

    ``states`` collects ``{"step", "shot", "lang", "standard": snapshot, "elder": snapshot}`` for
    the rules, each state once however often the tour reaches it. ``shots`` (optional,
    hall_demo.reviewshots.ReviewShots) names the review screenshots: at each (screen, step) new
    to the tour's language both type sizes are photographed there, even where the state itself
    was checked already (another language's tour showed the same)."""

    def __init__(self, shots: ReviewShots | None = None) -> None:
        self.states: list[dict] = []
        self.seen: set[str] = set()
        self.shots = shots
        self.repeats = 0

    def __call__(self, ctx, step, done) -> None:
        from kivy.clock import Clock
        app = ctx.app
        first = snapshot(app)
        key = state_key(first)
        check = key not in self.seen
        name = self.shots.take(step.lang, first["screen"], step.name, state_key(first, clock=False)) \
            if self.shots is not None else None
        if not check and name is None:
            self.repeats += 1
            done()
            return
        self.seen.add(key)
        native = app.elder
        entry = {"step": step.name, "shot": step.shot, "lang": app.lang, "screen": first["screen"]}
        entry["elder" if native else "standard"] = first
        self._shoot(step.lang, native, name)

        def back(_snap) -> None:
            if check:
                self.states.append(entry)
            done()

        def other_mode(snap):
            entry["standard" if native else "elder"] = snap
            self._shoot(step.lang, not native, name)
            app.elder = native
            self._settle(app, back)
        app.elder = not native
        Clock.schedule_once(lambda dt: self._settle(app, other_mode), 0)

    def _settle(self, app, then, frames: int = 0, last: str = "") -> None:
        """Call ``then(snapshot)`` once two frames in a row show the same geometry."""
        from kivy.clock import Clock
        snap = snapshot(app)
        key = geometry_key(snap)
        if (key == last and frames >= 2) or frames >= MAX_SETTLE_FRAMES:
            then(snap)
            return
        Clock.schedule_once(lambda dt: self._settle(app, then, frames + 1, key), 0)

    def _shoot(self, lang: str, elder: bool, name: str | None) -> None:
        if self.shots is None or name is None:
            return
        from hall_demo.tour import screenshot
        screenshot(self.shots.path(lang, elder, name))
