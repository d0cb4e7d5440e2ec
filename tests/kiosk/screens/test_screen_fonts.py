"""The CJK font: the Simplified Chinese face is extracted from Debian's collection, or start fails."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.screens import fonts


def test_sc_face_is_extracted_once_and_is_chinese(tmp_path):
    found = fonts.find_cjk_fonts(tmp_path)
    from fontTools.ttLib import TTFont
    f = TTFont(found["regular"], lazy=True)
    try:
        assert f["name"].getDebugName(1) == "Noto Sans CJK SC"
        # 骨 has distinct Chinese and Japanese forms: the SC face maps it (to its own glyph)
        assert ord("骨") in f.getBestCmap()
    finally:
        f.close()
    mtime = Path(found["regular"]).stat().st_mtime_ns
    assert fonts.find_cjk_fonts(tmp_path)["regular"] == found["regular"]
    assert Path(found["regular"]).stat().st_mtime_ns == mtime  # cached, not rewritten


def test_missing_configured_font_is_a_clear_error(tmp_path):
    with pytest.raises(fonts.FontMissing) as e:
        fonts.find_cjk_fonts(tmp_path, str(tmp_path / "nope.ttf"))
    assert "ui.font" in str(e.value) and e.value.action


def test_no_noto_and_no_font_configured_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "NOTO_DIR", tmp_path / "none")
    with pytest.raises(fonts.FontMissing) as e:
        fonts.find_cjk_fonts(tmp_path)
    assert "fonts-noto-cjk" in e.value.action
