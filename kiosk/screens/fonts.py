"""The CJK font: Noto Sans CJK's Simplified Chinese face, registered as Kivy's default font.

Debian's ``NotoSansCJK-Regular.ttc`` is a collection whose first face is Japanese; Kivy's SDL2
text provider opens a file with ``TTF_OpenFontRW`` and cannot choose a face index, so Chinese
would take Japanese glyph forms (e.g. 直, 骨, 写). At first start we extract the SC face with
fontTools into ``<state_dir>/cache/fonts/`` (a font, never citizen data) and register that file.
No CJK font at all is a start-up error with a clear message, never tofu boxes on screen.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from kiosk.errors import KioskError

log = logging.getLogger("kiosk.screens.fonts")

#: Where Debian's fonts-noto-cjk puts the collections (Regular and Bold).
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
#: Face names inside the collection we accept, best first.
SC_FAMILIES = ("Noto Sans CJK SC",)
#: The name we register with Kivy's LabelBase (also Kivy's default font after register()).
FONT_NAME = "KioskCJK"


class FontMissing(KioskError):
    """No Chinese font could be found or prepared: the UI must not start with tofu boxes."""

    code = "ui.font_missing"
    citizen_message = "终端显示字体缺失，请联系工作人员。"


def _sc_index(ttc: Path) -> int | None:
    from fontTools.ttLib import TTCollection
    coll = TTCollection(str(ttc), lazy=True)
    try:
        for i, font in enumerate(coll.fonts):
            if font["name"].getDebugName(1) in SC_FAMILIES:
                return i
    finally:
        coll.close()
    return None


def extract_sc_face(ttc: Path, cache_dir: Path) -> Path:
    """Write the SC face of a .ttc as a standalone .otf in ``cache_dir`` (once) and return it."""
    from fontTools.ttLib import TTFont
    out = cache_dir / (ttc.stem + "-SC.otf")
    if out.exists() and out.stat().st_size > 0 and out.stat().st_mtime >= ttc.stat().st_mtime:
        return out
    index = _sc_index(ttc)
    if index is None:
        raise FontMissing(f"{ttc}: no Simplified Chinese face in the collection",
                          action="install fonts-noto-cjk or set ui.font to a Chinese font file")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    font = TTFont(str(ttc), fontNumber=index, lazy=True)
    try:
        font.save(str(tmp))
    finally:
        font.close()
    os.replace(tmp, out)  # atomic: a crash mid-write never leaves a half font to load next time
    log.info("extracted the SC face of the CJK font", extra={"font": str(out)})
    return out


def find_cjk_fonts(state_dir: str | Path, configured: str = "") -> dict[str, str]:
    """Paths of the regular (and bold, when found) Chinese font; raises FontMissing if none."""
    if configured:
        p = Path(configured)
        if not p.is_file():
            raise FontMissing(f"ui.font = {configured}: file not found",
                              action="fix ui.font in the terminal's config or install fonts-noto-cjk")
        if p.suffix.lower() == ".ttc":
            p = extract_sc_face(p, Path(state_dir) / "cache" / "fonts")
        return {"regular": str(p)}
    cache = Path(state_dir) / "cache" / "fonts"
    regular = NOTO_DIR / "NotoSansCJK-Regular.ttc"
    if not regular.is_file():
        raise FontMissing(f"{regular} not found and ui.font not set",
                          action="install the Debian package fonts-noto-cjk (scripts/setup.sh does)")
    fonts = {"regular": str(extract_sc_face(regular, cache))}
    bold = NOTO_DIR / "NotoSansCJK-Bold.ttc"
    if bold.is_file():
        fonts["bold"] = str(extract_sc_face(bold, cache))
    return fonts


def register(fonts: dict[str, str]) -> str:
    """Register the font with Kivy as FONT_NAME and make it the default of every Label."""
    from kivy.core.text import LabelBase, DEFAULT_FONT
    regular = fonts["regular"]
    bold = fonts.get("bold", regular)
    LabelBase.register(FONT_NAME, fn_regular=regular, fn_bold=bold)
    LabelBase.register(DEFAULT_FONT, fn_regular=regular, fn_bold=bold)
    return FONT_NAME
