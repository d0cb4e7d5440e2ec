"""Shared widgets: big buttons and tiles, wrapped labels, the top bar, the on-screen keypad and
the scroll view that shows it scrolls.

Layout lives in widgets.kv. ``tour_id`` names a widget for the scripted tour and the tests (a
stable handle that does not depend on the language of its text). Sizes of widgets built in
Python are given at the reference scale (``font_ref``, ``height_ref``) and follow ``app.k`` in kv,
so a switch to elder mode enlarges them too.
"""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.core.text.markup import MarkupLabel
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.utils import escape_markup

from kiosk.screens import theme
from kiosk.screens.linebreak import CJK as _CJK
from kiosk.screens.linebreak import GROUPED_NUMBER as _GROUPED
from kiosk.screens.linebreak import break_name, mend_breaks

#: Digits and the X of an 18-character ID number; the keypad also serves phone and application numbers.
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "←")
#: The backspace key (a glyph every CJK font has).
BACKSPACE = "←"
#: How typed numbers are grouped while typing, as they are printed on cards and slips, so a
#: citizen can check them group by group: an ID number region-birth date-serial (6-8-4), a
#: mobile number 3-4-4, an application number date-region-serial (8-6-4, after "SQ").
ID_GROUPS, PHONE_GROUPS, APPLICATION_GROUPS = (6, 8, 4), (3, 4, 4), (8, 6, 4)


def grouped(value: str, groups) -> str:
    """``value`` split into ``groups`` (lengths) with spaces; what is beyond them stays one group."""
    out, i = [], 0
    for n in groups:
        if i >= len(value):
            break
        out.append(value[i:i + n])
        i += n
    if i < len(value):
        out.append(value[i:])
    return " ".join(out)


#: How often a label's breaks are mended and the label drawn again (NameBreaks).
MEND_PASSES = 3


class NameBreaks:
    """Mixin for labels and buttons with Chinese text or a number in groups: a name that does not
    fit on one line breaks between words (:func:`break_name`), no line starts with closing
    punctuation and no number is split, not even between its groups (:func:`mend_breaks`); only
    the drawn text changes, not ``text``."""

    def texture_update(self, *largs):
        width = self.text_size[0]
        if self.markup or not width or not (_CJK.search(self.text or "") or _GROUPED.search(self.text or "")):
            super().texture_update(*largs)
            return
        core = self._label
        measure = lambda t: core.get_extents(t)[0]  # noqa: E731  (the label's own font options)
        text = "\n".join(break_name(ln, width, measure) for ln in self.text.split("\n"))
        core.text = text
        super().texture_update(*largs)
        # Mended, drawn again and mended again while that moves a break (a mend can make the next
        # line wrap elsewhere); bounded: each pass only adds newlines at soft breaks.
        for _ in range(MEND_PASSES):
            kept = mend_breaks(text, ["".join(w.text for w in ln.words) for ln in core._cached_lines])
            if kept == text:
                break
            core.text = text = kept
            super().texture_update(*largs)


class KButtonBase(NameBreaks, Button):
    """What every kiosk button shares: colours by ``kind``, type size, the touch-target floor;
    ``tour_id`` names it for the tour."""

    tour_id = StringProperty("")
    kind = StringProperty("primary")   # primary | secondary | danger
    font_ref = NumericProperty(theme.FONT_BODY)   # type size at the reference scale (px)


class KButton(KButtonBase):
    """A large, high-contrast button whose text wraps to its width."""


class TopButton(KButtonBase):
    """A header button as wide as its words (English ones are longer than the Chinese)."""


class ListButton(KButton):
    """A button in a list built in Python: as tall as ``height_ref`` at the reference scale, or
    as its text needs (a long name wraps instead of spilling out)."""

    height_ref = NumericProperty(theme.BUTTON_H)


class KScrollView(ScrollView):
    """A scroll view that shows it scrolls: a wide bar, visible while idle, whenever the content
    is longer than the view (Kivy's default bar is 2 dp and fades out)."""

    scroll_indicator = True


class Tile(KButton):
    """A home-screen tile: a title and a one-line subtitle (left out while ``compact``)."""

    title = StringProperty("")
    subtitle = StringProperty("")
    compact = BooleanProperty(False)

    @staticmethod
    def compose(title: str, subtitle: str, k: float) -> str:
        """The tile's markup: the title at FONT_HEAD, the subtitle (if any) under it at FONT_SMALL.
        Sizes in px, not bare numbers: Kivy's markup makes "[size=30]" the int 30 and
        "[size=30px]" the float 30.0, and its SDL2 text provider opens one FreeType face per
        str(size), so "30" beside the labels' 30.0 would be a second face of the same size."""
        text = f"[size={k * theme.FONT_HEAD}px]{escape_markup(title)}[/size]"
        return text + (f"\n[size={k * theme.FONT_SMALL}px]{escape_markup(subtitle)}[/size]" if subtitle else "")

    def title_width(self) -> float:
        """The title's width (px) on one line at the tile's title size."""
        core = CoreLabel(text=self.title, font_size=App.get_running_app().k * theme.FONT_HEAD, bold=self.bold,
                         font_name=self.font_name)
        return core.get_extents(self.title)[0]

    def full_height(self, width: float) -> float:
        """The height (px) the tile needs at ``width`` with its subtitle (see widgets.kv)."""
        k = App.get_running_app().k
        core = MarkupLabel(text=self.compose(self.title, self.subtitle, k), font_name=self.font_name, bold=self.bold,
                           font_size=self.font_size, text_size=(width - k * 12, None), halign="center")
        core.refresh()
        return (core.texture.height if core.texture else 0) + k * 16

    def on_text(self, *_) -> None:
        # the title, the language or the type size changed: the grid may want other columns
        refit = getattr(self.parent, "refit", None)
        if refit is not None:
            refit()


class TileGrid(GridLayout):
    """The home tiles: three across where every title fits on one line in a third of the width,
    else two (English in elder mode: a title wrapped and its subtitle spilled out of the tile);
    two on a panel taller than wide (three were tall thin strips on the portrait kiosk). Where
    the rows with their subtitles are taller than the grid (elder mode with the offline banner
    on the 1280x800 panel) the tiles show their titles only (``compact``): what the citizen
    chooses stays whole and inside the screen."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.refit = Clock.create_trigger(self._fit_columns, -1)
        self.bind(size=self.refit, children=self.refit)

    def _fit_columns(self, *_) -> None:
        tiles = [c for c in self.children if isinstance(c, Tile)]
        if not tiles:
            return
        k = App.get_running_app().k
        cols = 2
        if self.width > self.height:
            room = (self.width - self.padding[0] - self.padding[2] - 2 * self.spacing[0]) / 3
            if all(t.title_width() <= room - k * 12 for t in tiles):   # what text_size leaves
                cols = 3
        self.cols = cols
        # decided from the full texts, whatever the tiles show now (no back and forth)
        width = (self.width - self.padding[0] - self.padding[2] - (cols - 1) * self.spacing[0]) / cols
        rows = -(-len(tiles) // cols)
        need = rows * max(t.full_height(width) for t in tiles) + (rows - 1) * self.spacing[1]
        compact = need > self.height - self.padding[1] - self.padding[3] + 0.5
        for t in tiles:
            t.compact = compact


class KLabel(NameBreaks, Label):
    """A label that wraps to its width (Kivy wraps only with text_size set)."""

    size_hint_scale = NumericProperty(1.0)
    font_ref = NumericProperty(theme.FONT_BODY)   # type size at the reference scale (px)


class CitizenLabel(KLabel):
    """A label that shows citizen data (masked); wiped at the end of every session."""


class _Measure(NameBreaks, Label):
    """A label never shown: how tall a text is drawn (ReservedLabel)."""


class ReservedLabel(KLabel):
    """A label as tall as the longest text it will show (``longest``, drawn at its width and type
    size), whatever it shows now, empty included: a hint or a typed number above a keypad. Why: a
    label that grew with its text pushed the keypad under it down while the citizen typed (37-45 px:
    the complaint form's hint after the first digit, the identify screen's ID number wrapping in
    large type), and the next tap landed on another key."""

    longest = StringProperty("")
    reserved = NumericProperty(0)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._remeasure = Clock.create_trigger(self._measure, -1)
        self.bind(longest=self._remeasure, width=self._remeasure, font_size=self._remeasure,
                  font_name=self._remeasure, bold=self._remeasure, halign=self._remeasure)

    def _measure(self, *_) -> None:
        if not self.longest or self.width <= 1:
            self.reserved = 0
            return
        probe = _Measure(text=self.longest, font_size=self.font_size, font_name=self.font_name, bold=self.bold,
                         halign=self.halign, text_size=(self.width, None))
        probe.texture_update()
        self.reserved = probe.texture_size[1]


class NumberField(CitizenLabel):
    """A typed number's field: a box one line tall from the start, its ``placeholder`` (muted)
    while nothing is typed. Why: the complaint form's phone field was a bare label, nothing to see
    (no box, no hint) until the first digit."""

    placeholder = StringProperty("")
    value = StringProperty("")


class TopBar(BoxLayout):
    """Hall and terminal name, date/time, language, elder mode, help and call staff: one row when
    the names fit beside the buttons on one line, else the buttons go to a second row
    (``two_rows``); re-decided whenever a width or a text changes (language, type size, clock)."""

    two_rows = BooleanProperty(False)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._arrange = Clock.create_trigger(self.arrange, -1)
        self.bind(width=self._arrange, padding=self._arrange)

    def on_kv_post(self, base_widget) -> None:
        for w in (self.ids.hall, self.ids.second, self.ids.tools):   # the class rule made them
            w.bind(width=self._arrange)
        self.ids.row.bind(spacing=self._arrange)
        self._arrange()

    def arrange(self, *_) -> None:
        """Put the buttons in the first row if the names still fit on one line there."""
        ids = self.ids
        row, tools = ids.row.__self__, ids.tools.__self__     # the widgets, not the ids' weak proxies
        spacing = row.spacing
        one_row = max(ids.hall.width, ids.second.width) + tools.width + spacing + self.padding[0] + self.padding[2]
        two = one_row > self.width
        self.two_rows = two
        if tools.parent is (self if two else row):
            return
        tools.parent.remove_widget(tools)
        if two:
            self.add_widget(tools, index=0)     # below the row (a BoxLayout lays out children in reverse)
        else:
            row.add_widget(tools, index=0)      # at the right end of the row


class BusyOverlay(FloatLayout):
    """Covers the screen while a service call runs: swallows every touch so a second tap on
    "confirm" (or a tap on another tile) cannot start a second action meanwhile."""

    active = BooleanProperty(False)

    def on_touch_down(self, touch):
        return True if self.active else super().on_touch_down(touch)

    def on_touch_move(self, touch):
        return True if self.active else super().on_touch_move(touch)

    def on_touch_up(self, touch):
        return True if self.active else super().on_touch_up(touch)


class Keypad(GridLayout):
    """Digits on screen (kiosks have no keyboard); ``value`` holds what was typed, ``shown`` what
    the field beside it shows (grouped by ``groups``, or dots for a PIN)."""

    value = StringProperty("")
    max_len = NumericProperty(18)
    allow_x = BooleanProperty(True)
    secret = BooleanProperty(False)
    groups = ListProperty([])
    shown = StringProperty("")

    def on_value(self, *_) -> None:
        self.shown = self.display()

    on_groups = on_secret = on_value

    def press(self, key: str) -> None:
        """Apply one key: a digit, X, or backspace."""
        if key == BACKSPACE:
            self.value = self.value[:-1]
        elif key == "X" and not self.allow_x:
            return
        elif len(self.value) < self.max_len:
            self.value += key

    def clear(self) -> None:
        """Empty the field (also at the end of a session)."""
        self.value = ""

    def display(self) -> str:
        """What the field shows (dots for a PIN, else the digits in their groups)."""
        return "●" * len(self.value) if self.secret else grouped(self.value, self.groups)
