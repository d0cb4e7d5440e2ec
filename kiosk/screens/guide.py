"""Service guide: browse by category or department, search (Chinese or pinyin initials such as
``lnyd`` for 老年优待证), and an item's page a citizen takes in at a glance: the fee and the time
limits as figures, where to go (this hall's window), what to bring as a checklist, the route as
the four-level timeline the progress screen draws, then the questions and answers. Reads the
local catalogue cache, so it works offline; every text comes in the session's language.
"""
from __future__ import annotations

import string
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.timeline import Timeline  # noqa: F401  (the kv's Timeline)
from kiosk.screens.widgets import KButton, ListButton


class GuideScreen(KioskScreen):
    """Categories, a letter keyboard for pinyin initials, and the matching items."""

    query = StringProperty("")
    category = StringProperty("")
    department = StringProperty("")
    browse = StringProperty("category")   # category | department
    spoken_prompt = N_("Choose a category, or type the first letters of the service's pinyin.")

    def prepare(self, **_) -> None:
        """Fresh start: all categories, no query."""
        self.query, self.category, self.department, self.browse = "", "", "", "category"
        self._build_categories()
        self._build_letters()
        self.show_items()

    def _build_categories(self) -> None:
        box = self.ids.cats
        box.clear_widgets()
        g, lang = self.services.guide, self.app.lang
        groups = g.categories(lang) if self.browse == "category" else g.departments(lang)
        prefix = "cat" if self.browse == "category" else "dept"
        for i, c in enumerate([{"code": "", "name": self.tr("All")}] + groups):
            b = ListButton(text=c["name"], kind="primary" if c["code"] == self._picked() else "secondary",
                           tour_id=f"{prefix}_{i}", height_ref=72, font_ref=theme.FONT_SMALL)
            b.bind(on_release=lambda btn, code=c["code"]: self.pick(code))
            box.add_widget(b)

    def _picked(self) -> str:
        return self.category if self.browse == "category" else self.department

    def set_browse(self, how: str) -> None:
        """Browse by "category" or by "department"."""
        self.browse, self.category, self.department, self.query = how, "", "", ""
        self._build_categories()
        self.show_items()

    def pick(self, code: str) -> None:
        """Filter by the category or department ``code`` ("" = all)."""
        if self.browse == "category":
            self.category = code
        else:
            self.department = code
        self.query = ""
        self._build_categories()
        self.show_items()

    def _build_letters(self) -> None:
        grid = self.ids.letters
        if grid.children:
            return
        for ch in string.ascii_lowercase + "←":
            b = KButton(text=ch, kind="secondary", tour_id=f"letter_{ch}")
            b.bind(on_release=lambda btn: self.type_letter(btn.text))
            grid.add_widget(b)

    def type_letter(self, ch: str) -> None:
        """One key of the letter keyboard."""
        self.query = self.query[:-1] if ch == "←" else (self.query + ch)[:12]
        self.show_items()

    def show_items(self) -> None:
        """List the items matching the query or category."""
        g, lang = self.services.guide, self.app.lang
        items = g.search(self.query, lang) if self.query else g.items(
            category=self.category or None, department=self.department or None, lang=lang)
        box = self.ids.item_list
        box.clear_widgets()
        for i, it in enumerate(items):
            dept = g.department_name(it.get("department", ""), lang == "en")
            b = ListButton(text=f"{it['name']}\n{dept}", kind="secondary", tour_id=f"item_{i}", height_ref=96,
                           font_ref=theme.FONT_SMALL)
            b.bind(on_release=lambda btn, code=it["code"]: self.app.go("guide_item", code=code))
            box.add_widget(b)

    def on_lang(self) -> None:
        if self.ids.cats.children:
            self._build_categories()
            self.show_items()


class Figure(BoxLayout):
    """A figure to take in at a glance: a caption, a big value with its unit, a note (guide.kv)."""

    tour_id = StringProperty("")
    caption = StringProperty("")
    value = StringProperty("")
    unit = StringProperty("")
    note = StringProperty("")


class ChecklistRow(BoxLayout):
    """One thing to bring: a box to tick, the material, its note (guide.kv)."""

    tour_id = StringProperty("")
    text = StringProperty("")
    note = StringProperty("")


class Answer(BoxLayout):
    """A frequent question and its answer (guide.kv)."""

    question = StringProperty("")
    answer = StringProperty("")


def fee_figure(fee: dict, tr) -> tuple[str, str]:
    """The fee as a figure: (big value, unit): "Free" alone, or the amount in yuan."""
    amount = float(fee.get("amount_yuan") or 0)
    if not amount:
        return tr("Free"), ""
    return (f"{amount:.0f}" if amount == int(amount) else f"{amount:.2f}"), tr("yuan")


class GuideItemScreen(KioskScreen):
    """One item at a glance: figures, where to go, the checklist, the timeline, the answers."""

    code = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")         # who handles it, which department
    fee_value = StringProperty("")
    fee_unit = StringProperty("")
    fee_note = StringProperty("")
    promised = StringProperty("")         # working days
    statutory = StringProperty("")        # working days
    window = StringProperty("")
    where = StringProperty("")            # the zone of this hall, and the hall
    online = BooleanProperty(False)
    legal_basis = StringProperty("")
    has_faq = BooleanProperty(False)
    print_state = StringProperty("")      # "", printed, failed

    def on_kv_post(self, base_widget) -> None:
        for figure in self.ids.figures.children:
            figure.bind(minimum_height=self._even_figures)

    def _even_figures(self, *_) -> None:
        """Every figure as tall as the tallest: a row of cards, not a skyline."""
        figures = self.ids.figures.children
        tallest = max(f.minimum_height for f in figures)
        for f in figures:
            f.height = tallest

    def prepare(self, code: str = "", **_) -> None:
        """Show item ``code``."""
        self.code = code or self.code
        self.print_state = ""
        self.on_lang()
        if "scroll" in self.ids:
            self.ids.scroll.scroll_y = 1

    def on_lang(self) -> None:
        g, lang = self.services.guide, self.app.lang
        item = g.item(self.code, lang) if self.code else None
        if not item:
            self.title = self.subtitle = ""
            return
        tr = self.tr
        self.title = item["name"]
        dept = g.department_name(item.get("department", ""), lang == "en")
        self.subtitle = "   ·   ".join([tr("Handled by: {agency}").format(agency=item.get("agency", "")),
                                        tr("Department: {department}").format(department=dept)])
        fee = item.get("fee") or {}
        self.fee_value, self.fee_unit = fee_figure(fee, tr)
        self.fee_note = fee.get("note", "")
        self.promised, self.statutory = str(item.get("promised_days", "")), str(item.get("statutory_days", ""))
        self.window = str(item.get("window", ""))
        line: dict[str, Any] = next((ln for ln in g.lines(lang) if ln.get("code") == item.get("line")), {})
        self.where = "\n".join(x for x in (line.get("zone", ""), self.app.hall_text) if x)
        self.online, self.legal_basis = bool(item.get("online")), item.get("legal_basis", "")
        self._checklist(item.get("materials", []))
        self.ids.timeline.show(item.get("stages", []))
        self._answers(item.get("faq", []))

    def _checklist(self, materials: list[dict]) -> None:
        box = self.ids.materials
        box.clear_widgets()
        for i, m in enumerate(materials):
            kind = self.tr("original") if m.get("original") else self.tr("copy")
            box.add_widget(ChecklistRow(text=f"{m.get('name', '')}  ×{m.get('copies', 1)}  ({kind})",
                                        note=m.get("note", ""), tour_id=f"material_{i}"))

    def _answers(self, faq: list[dict]) -> None:
        box = self.ids.faq
        box.clear_widgets()
        self.has_faq = bool(faq)
        for f in faq:
            box.add_widget(Answer(question=f.get("q", ""), answer=f.get("a", "")))

    def print_guide(self) -> None:
        """Print this item's guide (in a worker: the printer may be slow)."""
        run_async(self.services.print_guide, self.code,
                  on_done=lambda o: setattr(self, "print_state", "printed" if o.printed else "failed"),
                  on_error=lambda e: setattr(self, "print_state", "failed"), name="kiosk-ui-guide-print")

    def consult(self) -> None:
        """Ask about this item: the FAQ and a call-back request."""
        item = self.services.guide.item(self.code, self.app.lang) or {}
        self.app.go("consult", item_code=self.code, item_name=self.title, faq=item.get("faq", []))


SCREENS = {"guide": GuideScreen, "guide_item": GuideItemScreen}
