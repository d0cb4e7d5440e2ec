"""The screens' side of translation: the translator itself is :mod:`kiosk.i18n` (below the
services, which print slips in the session's language); here, what only a screen needs."""
from __future__ import annotations

# The screens' names for what kiosk.i18n holds (explicit re-exports).
from kiosk.i18n import DOMAIN as DOMAIN
from kiosk.i18n import LANGUAGES as LANGUAGES
from kiosk.i18n import LOCALE_DIR as LOCALE_DIR
from kiosk.i18n import N_ as N_
from kiosk.i18n import Translator as Translator


def colon(lang: str) -> str:
    """What joins a label to its value: the full-width "：" in Chinese, as the translated
    messages write it (姓名：王*兰), and ": " in English. Why: labels joined with ": " in every
    language showed 身份证号码: 410104 and 咨询: 民族成分变更 beside 姓名：… on the same screens."""
    return "：" if lang.startswith("zh") else ": "


def chinese_on_screen(app) -> list[str]:
    """The texts with Chinese in them that the current screen and the top bar show (visible
    widgets only): on an English screen there should be none. Not counted: the button back to
    中文 and the citizen's masked name (a person's name is what it is)."""
    has_chinese = app.services.guide.has_chinese
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
