"""Translations: Python's gettext over ``kiosk/screens/locale/<lang>/LC_MESSAGES/kiosk.mo``.

Message ids are English; the zh_CN catalogue carries the Chinese text (the terminal's first
language), the en catalogue may leave strings untranslated (gettext falls back to the id).
Babel makes the catalogues (``python -m tools.i18n update`` / ``compile``; README "Translations").
"""
from __future__ import annotations

import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("zh_CN", "en")
DOMAIN = "kiosk"


def N_(msgid: str) -> str:
    """Mark a message id for extraction where it is defined (it is translated where shown)."""
    return msgid


class Translator:
    """One loaded catalogue per language; ``tr(msgid, lang)`` looks a string up."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._cats = {lang: gettext.translation(DOMAIN, str(locale_dir), languages=[lang], fallback=True)
                      for lang in LANGUAGES}

    def tr(self, msgid: str, lang: str) -> str:
        """The translation of ``msgid`` in ``lang`` (the id itself when missing)."""
        cat = self._cats.get(lang)
        return cat.gettext(msgid) if cat is not None else msgid

    def has(self, lang: str) -> bool:
        """Whether a compiled catalogue was found for ``lang`` (not just the fallback)."""
        return isinstance(self._cats.get(lang), gettext.GNUTranslations)


def chinese_on_screen(app) -> list[str]:
    """The texts with Chinese in them that the current screen and the top bar show (visible
    widgets only): on an English screen there should be none. Not counted: the button back to
    中文 and the citizen's masked name (a person's name is what it is)."""
    from kiosk.network.catalogue import has_chinese
    out = []
    bases = [app.sm.current_screen, app.root.children[-1]]   # the screen, the top bar
    for base in bases:
        for w in base.walk(restrict=True):
            text = getattr(w, "text", None)
            if not isinstance(text, str) or not text or getattr(w, "tour_id", "") == "lang":
                continue
            if app.citizen_text:
                text = text.replace(app.citizen_text, "")
            if has_chinese(text) and _visible(w, base):
                out.append(text)
    return out


def _visible(widget, base) -> bool:
    """Shown: in the window, with a size, and neither it nor a parent up to ``base`` transparent."""
    if widget.get_root_window() is None or widget.width <= 0 or widget.height <= 0:
        return False
    w = widget
    while w is not None:
        if w.opacity <= 0:
            return False
        if w is base:
            return True
        w = w.parent
    return True
