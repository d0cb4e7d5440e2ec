"""Shared widgets: big buttons and tiles, wrapped labels, the top bar and the on-screen keypad.

Layout lives in widgets.kv. ``tour_id`` names a widget for the scripted tour and the tests (a
stable handle that does not depend on the language of its text).
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

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


class KButton(Button):
    """A large, high-contrast button; ``tour_id`` names it for the tour."""

    tour_id = StringProperty("")
    kind = StringProperty("primary")   # primary | secondary | danger


class Tile(KButton):
    """A home-screen tile: a title and a one-line subtitle."""

    title = StringProperty("")
    subtitle = StringProperty("")


class KLabel(Label):
    """A label that wraps to its width (Kivy wraps only with text_size set)."""

    size_hint_scale = NumericProperty(1.0)


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
