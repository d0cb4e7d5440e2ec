"""A tour of the guide's item page (run by test_guide_item.py through hall_demo.testrun): a long
item (the minimum living allowance: five materials, two answers, two levels) in standard type,
then in elder mode, then scrolled to its end; then an application's progress, to compare the
timelines. At each stop the tour writes what it measured to ``<out>/facts.json``."""
from __future__ import annotations

import functools
import json

from hall_demo.tour import Ctx, Step, on_screen
from hall_demo.tour_steps import _ensure_lang, _home_in, _type

ITEM = "MZ001"


def facts(ctx: Ctx) -> dict:
    """What a citizen would see on the item page now."""
    from kiosk.screens.guide import ChecklistRow, Figure
    from kiosk.screens.i18n import chinese_on_screen
    from kiosk.screens.timeline import Timeline
    app, screen = ctx.app, ctx.screen
    scroll, content = screen.ids.scroll, screen.ids.content
    sx, sy = scroll.parent.to_window(*scroll.pos)  # not scroll.to_window: that adds its own scrolling

    def in_view(w) -> bool:  # the widget lies inside the scroll view's window rectangle
        x, y = w.to_window(w.x, w.y)
        return y >= sy - 1 and y + w.height <= sy + scroll.height + 1

    figures = {w.tour_id: {"value": w.value, "unit": w.unit, "note": w.note,
                           "fits": all(c.texture_size[0] <= c.width + 1 for c in w.children if hasattr(c, "texture_size"))}
               for w in screen.walk() if isinstance(w, Figure)}
    rows = [w for w in screen.walk() if isinstance(w, ChecklistRow)]
    faq = list(reversed(screen.ids.faq.children))
    overflow = [w.text[:40] for w in content.walk() if hasattr(w, "texture_size") and isinstance(getattr(w, "text", None), str)
                and w.text and w.texture_size[0] > w.width + 1]
    return {"lang": app.lang, "elder": app.elder, "k": app.k, "window": [app.root.width, app.root.height],
            "title": screen.title, "figures": figures, "checklist": [r.text for r in rows],
            "checklist_notes": [r.note for r in rows],
            "timeline": {"class": f"{screen.ids.timeline.__class__.__module__}.{screen.ids.timeline.__class__.__name__}",
                         "is_the_widget": isinstance(screen.ids.timeline, Timeline),
                         "columns": [c.text for c in reversed(screen.ids.timeline.children)]},
            "faq": [(a.question, a.answer) for a in faq], "last_answer_in_view": bool(faq) and in_view(faq[-1]),
            "first_figure_in_view": in_view(screen.ids.figures.children[-1]),
            "scroll": {"content_h": content.height, "view_h": scroll.height, "scroll_y": scroll.scroll_y,
                       "bar_width": scroll.bar_width, "bar_inactive_alpha": scroll.bar_inactive_color[3],
                       "scroll_type": list(scroll.scroll_type)},
            "more_below_shown": ctx.find("more_below") is not None,
            "chinese": chinese_on_screen(app), "overflow": overflow}


def _record(key: str):
    def act(ctx: Ctx) -> None:
        assert ctx.out_dir is not None  # the guide tour saves its facts
        path = ctx.out_dir / "facts.json"
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        data[key] = facts(ctx)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return act


def _scroll_to_end(ctx: Ctx) -> None:
    ctx.screen.ids.scroll.scroll_y = 0


def _progress_timeline(ctx: Ctx) -> None:
    assert ctx.out_dir is not None  # the guide tour saves its facts
    path = ctx.out_dir / "facts.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    tl = ctx.screen.ids.timeline
    data["progress_timeline"] = f"{tl.__class__.__module__}.{tl.__class__.__name__}"  # ids are weak proxies
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def steps(langs: list[str]) -> list[Step]:
    lang = langs[0]
    S = functools.partial(Step, lang=lang)
    item_shown = on_screen("guide_item", ready=lambda c: c.screen.code == ITEM and bool(c.screen.ids.materials.children))
    settled = lambda c: c.screen.ids.content.height > 0  # noqa: E731
    laid_out = lambda c: c.app.sm.current == "home" and c.find("lang").y > c.app.root.height / 2  # noqa: E731
    return [
        S("home laid out", None, laid_out),  # the first frame: the top bar is in place before a tap
        S("home", _ensure_lang(lang), _home_in(lang)),
        S("guide", lambda c: c.tap("tile_guide"), on_screen("guide", ready=lambda c: c.find("item_0") is not None)),
        S("search zdsh", lambda c: [c.tap(f"letter_{ch}") for ch in "zdsh"],
          on_screen("guide", ready=lambda c: c.screen.query == "zdsh" and c.find("item_0") is not None)),
        S("item", lambda c: c.tap("item_0"), item_shown, "guide-item"),
        S("standard type", _record("standard"), item_shown),
        S("elder mode", lambda c: c.tap("elder"), on_screen("guide_item", ready=lambda c: c.app.elder and settled(c)),
          "guide-item-elder"),
        S("elder type", _record("elder"), item_shown),
        S("scrolled to the end", _scroll_to_end,
          on_screen("guide_item", ready=lambda c: c.screen.ids.scroll.scroll_y <= 0.001 and c.find("more_below") is None),
          "guide-item-elder-end"),
        S("end", _record("elder_end"), item_shown),
        S("home", lambda c: c.tap("home"), on_screen("home")),
        S("progress", lambda c: c.tap("tile_progress"), on_screen("progress")),
        S("number", lambda c: _type(c.sim.application_no(2)[2:])(c),
          on_screen("progress", ready=lambda c: c.find("lookup") is not None)),
        S("shown", lambda c: c.tap("lookup"), on_screen("progress", ready=lambda c: c.screen.status == "shown"), "progress"),
        S("progress timeline", _progress_timeline, on_screen("progress")),
    ]
