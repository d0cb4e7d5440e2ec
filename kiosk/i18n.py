"""Translations: Python's gettext over ``kiosk/screens/locale/<lang>/LC_MESSAGES/kiosk.mo``, for the
screens and for the paper a citizen reads (slips and tickets print in the session's language).

Message ids are English; the zh_CN catalogue carries the Chinese text (the terminal's first
language), the en catalogue may leave strings untranslated (gettext falls back to the id).
Babel makes the catalogues (``python -m tools.i18n update`` / ``compile``; README "Translations");
the .mo files are build outputs (scripts/setup.sh, the test session, the wheel's build), not
committed. Pure gettext, no Kivy: it sits below the services, which print.
"""
from __future__ import annotations

import gettext
import logging
from pathlib import Path

#: The catalogues live beside the screens, which carry most of the messages.
LOCALE_DIR = Path(__file__).parent / "screens" / "locale"
LANGUAGES = ("zh_CN", "en")
DOMAIN = "kiosk"

log = logging.getLogger("kiosk.i18n")


def N_(msgid: str) -> str:
    """Mark a message id for extraction where it is defined (it is translated where shown)."""
    return msgid


class Translator:
    """One loaded catalogue per language; ``tr(msgid, lang)`` looks a string up."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._cats = {lang: gettext.translation(DOMAIN, str(locale_dir), languages=[lang], fallback=True)
                      for lang in LANGUAGES}
        missing = [lang for lang in LANGUAGES if not self.has(lang)]
        if missing:  # a checkout nobody compiled: every text would show in English, without a word
            log.warning("no compiled catalogue: texts shown as their English ids; run python -m tools.i18n compile",
                        extra={"languages": missing, "locale_dir": str(locale_dir)})

    def tr(self, msgid: str, lang: str) -> str:
        """The translation of ``msgid`` in ``lang`` (the id itself when missing)."""
        cat = self._cats.get(lang)
        return cat.gettext(msgid) if cat is not None else msgid

    def has(self, lang: str) -> bool:
        """Whether a compiled catalogue was found for ``lang`` (not just the fallback)."""
        return isinstance(self._cats.get(lang), gettext.GNUTranslations)
