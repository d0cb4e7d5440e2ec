"""Keyboard-wedge scanners: telling a scanner's key burst from a person typing (pure, no I/O).

A wedge scanner is a USB keyboard (HID): each scan arrives as key presses, typically a few ms
apart, ending in Enter. A person types 100-300 ms apart. :class:`WedgeClassifier` takes
``(char, timestamp_s)`` events and reports a scan when at least ``min_length`` characters came
with every gap (Enter included) at most ``max_interkey_ms``; anything slower is a person and is
left alone. Timestamps come from the caller, so tests drive it with a fake clock.

Why wedge mode cannot carry Chinese text: the scanner sends *key codes* of a US keyboard layout
(HID usage IDs), not characters. There is no key for 中; the host turns keys into characters
with its own layout and an input method would be needed for Chinese. Scanners that "support
Chinese" in wedge mode type Alt+numpad codes, which only Windows understands. Configure a scanner
that must read Chinese text in serial mode (``scanner.serial``, UTF-8 or GB18030).

:class:`KeyTranslator` turns Linux evdev key events (code, value) into characters for a US
layout; the key codes are the kernel's stable ABI (``linux/input-event-codes.h``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: Default gap bound (ms): scanners type at 1-20 ms per key; people rarely below 50 ms for
#: more than two keys in a row (key rollover), never for a whole code.
MAX_INTERKEY_MS = 30.0
#: Shortest scan (chars): shorter fast bursts are rollover ("th" typed together), not scans.
MIN_LENGTH = 4
#: A frame longer than this is a stuck key or a fault, not a scan (chars).
MAX_LENGTH = 4096
ENTER = ("\r", "\n")


@dataclass
class WedgeClassifier:
    """Classify a stream of (char, time) key events into scans; people's typing is ignored."""

    max_interkey_ms: float = MAX_INTERKEY_MS
    min_length: int = MIN_LENGTH
    max_length: int = MAX_LENGTH
    _chars: list[str] = field(default_factory=list)
    _last_s: float | None = None
    rejected: int = 0  # Enter presses that ended human typing or a too-short burst

    def feed(self, char: str, t_s: float) -> str | None:
        """One key event (a character, or "\\r"/"\\n" for Enter) at time ``t_s`` (seconds);
        returns the scanned text when this Enter completes a scan, else ``None``."""
        gap_ok = self._last_s is not None and 0 <= (t_s - self._last_s) * 1000.0 <= self.max_interkey_ms
        self._last_s = t_s
        if char in ENTER:
            text = "".join(self._chars)
            self._chars.clear()
            if gap_ok and len(text) >= self.min_length:
                return text
            if text:
                self.rejected += 1
            return None
        if not gap_ok:
            # A slow gap (or a clock that went backwards) starts a new burst: what came before
            # was a person typing.
            self._chars.clear()
        if len(char) != 1 or len(self._chars) >= self.max_length:
            self._chars.clear()
            return None
        self._chars.append(char)
        return None

    def reset(self) -> None:
        """Forget a burst in progress."""
        self._chars.clear()
        self._last_s = None


EV_KEY = 1  # evdev event type of key presses
KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_ENTER, KEY_KPENTER = 28, 96

# Linux key code -> (plain, shifted) on a US layout.
_KEYMAP: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"),
    7: ("6", "^"), 8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"),
    12: ("-", "_"), 13: ("=", "+"), 15: ("\t", "\t"), 26: ("[", "{"), 27: ("]", "}"),
    39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " "),
    55: ("*", "*"), 71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"),
    75: ("4", "4"), 76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"),
    80: ("2", "2"), 81: ("3", "3"), 82: ("0", "0"), 83: (".", "."), 98: ("/", "/"),
}
for _code, _letter in zip([16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                           30, 31, 32, 33, 34, 35, 36, 37, 38,
                           44, 45, 46, 47, 48, 49, 50], "qwertyuiopasdfghjklzxcvbnm"):
    _KEYMAP[_code] = (_letter, _letter.upper())


@dataclass
class KeyTranslator:
    """Turn evdev key events into characters (US layout, Shift and Caps Lock)."""

    _shift: set[int] = field(default_factory=set)
    _caps: bool = False

    def key(self, code: int, value: int) -> str | None:
        """One EV_KEY event; returns a character (``"\\r"`` for Enter) on key down, else ``None``."""
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            (self._shift.add if value != KEY_UP else self._shift.discard)(code)
            return None
        if value != KEY_DOWN:  # key up and auto-repeat do not type (a scanner never repeats)
            return None
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            return "\r"
        pair = _KEYMAP.get(code)
        if pair is None:
            return None
        plain, shifted = pair
        upper = bool(self._shift) != (self._caps and plain.isalpha())
        return shifted if upper else plain
