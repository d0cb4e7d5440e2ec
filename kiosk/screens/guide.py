"""Service guide: browse by category or department, search (Chinese or pinyin initials such as
``lnyd`` for 老年优待证), and an item's detail with every catalogue field. Reads the local
catalogue cache, so it works offline.
"""
from __future__ import annotations

import string

from kivy.properties import StringProperty

from kiosk.screens import theme
from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_
from kiosk.screens.widgets import KButton, ListButton

#: The four levels of the service network, as shown.
LEVEL_NAMES = {"village": N_("Village"), "township": N_("Township"), "county": N_("County"), "city": N_("City")}


class GuideScreen(KioskScreen):
    """Categories, a letter keyboard for pinyin initials, and the matching items."""

    query = StringProperty("")
    category = StringProperty("")
    department = StringProperty("")
    browse = StringProperty("category")   # category | department
    spoken_prompt = "Choose a category, or type the first letters of the service's pinyin."

    def prepare(self, **_) -> None:
        """Fresh start: all categories, no query."""
        self.query, self.category, self.department, self.browse = "", "", "", "category"
        self._build_categories()
        self._build_letters()
        self.show_items()

    def _build_categories(self) -> None:
        box = self.ids.cats
        box.clear_widgets()
        g = self.services.guide
        groups = g.categories() if self.browse == "category" else g.departments()
        en = self.app.lang == "en"
        prefix = "cat" if self.browse == "category" else "dept"
        for i, c in enumerate([{"code": "", "name": self.tr("All")}] + groups):
            name = c.get("name_en") if en and c.get("name_en") else c["name"]
            b = ListButton(text=name, kind="primary" if c["code"] == self._picked() else "secondary",
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
        g = self.services.guide
        items = g.search(self.query) if self.query else g.items(category=self.category or None,
                                                                  department=self.department or None)
        box = self.ids.item_list
        box.clear_widgets()
        en = self.app.lang == "en"
        for i, it in enumerate(items):
            name = it.get("name_en") if en and it.get("name_en") else it["name"]
            dept = g.department_name(it.get("department", ""), en)
            b = ListButton(text=f"{name}\n{dept}", kind="secondary", tour_id=f"item_{i}", height_ref=96,
                           font_ref=theme.FONT_SMALL)
            b.bind(on_release=lambda btn, code=it["code"]: self.app.go("guide_item", code=code))
            box.add_widget(b)

    def on_lang(self) -> None:
        if self.ids.cats.children:
            self._build_categories()
            self.show_items()


def describe(item: dict, tr, en: bool = False, department: str = "") -> str:
    """Every field of a catalogue item as readable text."""
    fee = item.get("fee") or {}
    link = item.get("linkage") or {}
    original = tr("original")
    mats = "\n".join(f"  · {m['name']} ×{m.get('copies', 1)}" + (f" ({original})" if m.get("original") else "")
                     + (f" {m['note']}" if m.get("note") else "") for m in item.get("materials", []))
    levels = " → ".join(tr(LEVEL_NAMES.get(lv, lv)) for lv in link.get("levels", []))
    faq = "\n".join(f"  {f['q']} {f['a']}" for f in item.get("faq", []))
    rows = [
        (tr("Handled by"), item.get("agency", "")),
        (tr("Department"), department or item.get("department", "")),
        (tr("Legal basis"), item.get("legal_basis", "")),
        (tr("Time limits"), tr("statutory {a} working days, promised {b}").format(
            a=item.get("statutory_days", ""), b=item.get("promised_days", ""))),
        (tr("Fee"), (tr("free") if not fee.get("amount_yuan") else f"{fee['amount_yuan']:.2f} " + tr("yuan")) +
         (f" ({fee['note']})" if fee.get("note") else "")),
        (tr("Materials"), "\n" + mats),
        (tr("Steps"), " → ".join(item.get("steps", []))),
        (tr("Where"), tr("window {w}, {place}").format(w=item.get("window", ""), place=item.get("location", ""))),
        (tr("Apply online"), tr("yes") if item.get("online") else tr("no")),
        (tr("Four-level linkage"), (levels + "; " + tr("accepted at {a}, decided at {d}").format(
            a=tr(LEVEL_NAMES.get(link.get("accept_level", ""), "")), d=tr(LEVEL_NAMES.get(link.get("decide_level", ""), ""))))
         if link.get("four_level") else tr("no")),
        (tr("Questions"), "\n" + faq),
    ]
    return "\n".join(f"{k}: {v}" for k, v in rows)


class GuideItemScreen(KioskScreen):
    """One item with every field."""

    code = StringProperty("")
    title = StringProperty("")
    body = StringProperty("")
    print_state = StringProperty("")      # "", printed, failed

    def prepare(self, code: str = "", **_) -> None:
        """Show item ``code``."""
        self.code = code or self.code
        self.print_state = ""
        self.on_lang()

    def on_lang(self) -> None:
        item = self.services.guide.item(self.code) if self.code else None
        if not item:
            self.title, self.body = "", ""
            return
        en = self.app.lang == "en"
        self.title = item.get("name_en") if en and item.get("name_en") else item["name"]
        self.body = describe(item, self.tr, en, self.services.guide.department_name(item.get("department", ""), en))

    def print_guide(self) -> None:
        """Print this item's guide (in a worker: the printer may be slow)."""
        run_async(self.services.print_guide, self.code,
                  on_done=lambda o: setattr(self, "print_state", "printed" if o.printed else "failed"),
                  on_error=lambda e: setattr(self, "print_state", "failed"), name="kiosk-ui-guide-print")

    def consult(self) -> None:
        """Ask about this item: the FAQ and a call-back request."""
        item = self.services.guide.item(self.code) or {}
        self.app.go("consult", item_code=self.code, item_name=self.title,
                    faq=item.get("faq", []))


SCREENS = {"guide": GuideScreen, "guide_item": GuideItemScreen}
