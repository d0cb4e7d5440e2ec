"""Shared widgets: big buttons and tiles, wrapped labels, the top bar, the on-screen keypad and
the scroll view that shows it scrolls.

Layout lives in widgets.kv. ``tour_id`` names a widget for the scripted tour and the tests (a
stable handle that does not depend on the language of its text). Sizes of widgets built in
Python are given at the reference scale (``font_ref``, ``height_ref``) and follow ``app.k`` in kv,
so a switch to elder mode enlarges them too.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk.screens import theme
from kiosk.screens.linebreak import CJK as _CJK
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


class NameBreaks:
    """Mixin for labels and buttons with Chinese text: a name that does not fit on one line breaks
    between words (:func:`break_name`), no line starts with closing punctuation and no number is
    split (:func:`mend_breaks`); only the drawn text changes, not ``text``."""

    def texture_update(self, *largs):
        width = self.text_size[0]
        if self.markup or not width or not _CJK.search(self.text or ""):
            super().texture_update(*largs)
            return
        core = self._label
        measure = lambda t: core.get_extents(t)[0]  # noqa: E731  (the label's own font options)
        text = "\n".join(break_name(ln, width, measure) for ln in self.text.split("\n"))
        core.text = text
        super().texture_update(*largs)
        kept = mend_breaks(text, ["".join(w.text for w in ln.words) for ln in core._cached_lines])
        if kept != text:
            core.text = kept
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
    """A home-screen tile: a title and a one-line subtitle."""

    title = StringProperty("")
    subtitle = StringProperty("")


class KLabel(NameBreaks, Label):
    """A label that wraps to its width (Kivy wraps only with text_size set)."""

    size_hint_scale = NumericProperty(1.0)
    font_ref = NumericProperty(theme.FONT_BODY)   # type size at the reference scale (px)


class CitizenLabel(KLabel):
    """A label that shows citizen data (masked); wiped at the end of every session."""


class TopBar(BoxLayout):
    """Hall and terminal name, date/time, language, elder mode, help and call staff."""


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
