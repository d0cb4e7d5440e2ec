"""Tests of the keyboard-wedge classifier (fake clock) and the evdev key translation."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge.scanner.wedge import KEY_DOWN, KEY_LEFTSHIFT, KEY_UP, KeyTranslator, WedgeClassifier


def type_text(c: WedgeClassifier, text: str, start_s: float, gap_ms: float, enter: bool = True):
    results, t = [], start_s
    for ch in text + ("\r" if enter else ""):
        results.append(c.feed(ch, t))
        t += gap_ms / 1000.0
    return [r for r in results if r is not None], t


def test_fast_burst_with_enter_is_a_scan():
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    got, _ = type_text(c, "SQ20240101000001", 100.0, gap_ms=8)
    assert got == ["SQ20240101000001"]


def test_person_typing_is_not_a_scan():
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    got, _ = type_text(c, "hello world", 100.0, gap_ms=150)
    assert got == [] and c.rejected == 1


def test_short_fast_burst_is_rollover_not_a_scan():
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    got, _ = type_text(c, "ab", 5.0, gap_ms=5)
    assert got == []


def test_slow_enter_after_fast_burst_is_not_a_scan():
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    got, t = type_text(c, "ABCDEFG", 1.0, gap_ms=5, enter=False)
    assert c.feed("\r", t + 0.5) is None


def test_person_typing_then_a_scan_reports_only_the_scan():
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    _, t = type_text(c, "abc", 0.0, gap_ms=200, enter=False)
    got, _ = type_text(c, "KQ1:XYZ", t + 0.3, gap_ms=10)
    assert got == ["KQ1:XYZ"]


def test_clock_going_backwards_starts_a_new_burst():
    c = WedgeClassifier()
    _, t = type_text(c, "abcd", 10.0, gap_ms=5, enter=False)
    got, _ = type_text(c, "WXYZ", 3.0, gap_ms=5)
    assert got == ["WXYZ"]


@given(gaps=st.lists(st.floats(0, 29.9), min_size=4, max_size=40))
def test_any_burst_under_the_bound_is_a_scan(gaps):
    c = WedgeClassifier(max_interkey_ms=30, min_length=4)
    t, text = 0.0, "".join("0123456789"[i % 10] for i in range(len(gaps)))
    for ch, g in zip(text, gaps):
        assert c.feed(ch, t) is None
        t += g / 1000.0
    assert c.feed("\r", t) == text


def test_key_translator_shift_caps_and_enter():
    k = KeyTranslator()
    typed = []
    # "Zz1!" then Enter: shift+z, z, 1, shift+1, enter
    for code, value in [(KEY_LEFTSHIFT, KEY_DOWN), (44, KEY_DOWN), (44, KEY_UP), (KEY_LEFTSHIFT, KEY_UP),
                        (44, KEY_DOWN), (2, KEY_DOWN), (KEY_LEFTSHIFT, KEY_DOWN), (2, KEY_DOWN),
                        (KEY_LEFTSHIFT, KEY_UP), (58, KEY_DOWN), (30, KEY_DOWN), (2, KEY_DOWN), (28, KEY_DOWN)]:
        ch = k.key(code, value)
        if ch is not None:
            typed.append(ch)
    assert "".join(typed) == "Zz1!A1\r"
