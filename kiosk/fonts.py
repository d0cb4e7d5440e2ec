"""Finding a CJK font (Kivy's default font has no Chinese glyphs).

Debian's ``fonts-noto-cjk`` ships one .ttc holding the Japanese, Korean and Chinese faces; the
UI picks the Simplified Chinese face (kiosk/screens). This module only finds a candidate file so
that `kiosk doctor` and the UI fail early with a clear message when there is none.
"""
from __future__ import annotations

import os
import shutil
import subprocess

#: Known places, most specific first (Debian fonts-noto-cjk, then common alternatives).
CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def find_cjk_font(configured: str = "") -> str | None:
    """The configured font if it exists, else a known CJK font, else one fontconfig knows."""
    if configured:
        return configured if os.path.exists(configured) else None
    for path in CANDIDATES:
        if os.path.exists(path):
            return path
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True,
                                 timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        for line in out.splitlines():
            path = line.split(":")[0].strip()
            if path and os.path.exists(path):
                return path
    return None
