"""Shared widgets: big buttons and tiles, wrapped labels, the top bar and the on-screen keypad.

Layout lives in widgets.kv. ``tour_id`` names a widget for the scripted tour and the tests (a
stable handle that does not depend on the language of its text).
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label

#: Digits and the X of an 18-character ID number; the keypad also serves phone and application numbers.
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "←")
#: The backspace key (a glyph every CJK font has).
BACKSPACE = "←"


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
    """Digits on screen (kiosks have no keyboard); ``value`` holds what was typed."""

    value = StringProperty("")
    max_len = NumericProperty(18)
    allow_x = BooleanProperty(True)
    secret = BooleanProperty(False)

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
        """What the field shows (dots for a PIN)."""
        return "●" * len(self.value) if self.secret else self.value
