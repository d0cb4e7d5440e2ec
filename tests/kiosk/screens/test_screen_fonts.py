"""The CJK font: the Simplified Chinese face is extracted from Debian's collection, or start fails."""
from __future__ import annotations

import logging
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


def _subroutines(path: str) -> int:
    """How many CFF subroutines (global and local) the font carries."""
    from fontTools.ttLib import TTFont
    f = TTFont(path, lazy=True)
    try:
        cff = f["CFF "].cff
        top = cff.topDictIndex[0]
        dicts = top.FDArray if hasattr(top, "FDArray") else [top]
        return len(cff.GlobalSubrs) + sum(len(getattr(d.Private, "Subrs", None) or []) for d in dicts)
    finally:
        f.close()


def _render(path: str, size: int, text: str):
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(path, size)
    img = Image.new("L", (size * (len(text) + 2), size * 2))
    ImageDraw.Draw(img).text((2, 2), text, font=font, fill=255)
    return img


def test_the_cached_faces_are_flattened_and_draw_the_same_glyphs(tmp_path):
    """Flattening (no CFF subroutines: 0.8 MiB per Kivy font size instead of 2.6) changes no pixel."""
    from PIL import ImageChops
    found = fonts.find_cjk_fonts(tmp_path)
    assert set(found) == {"regular", "bold"}
    plain = tmp_path / "plain.otf"
    fonts._extract(fonts.NOTO_DIR / "NotoSansCJK-Regular.ttc", plain)
    assert _subroutines(str(plain)) > 1000  # the shipped face is subroutinized: the test means something
    for weight in ("regular", "bold"):
        assert found[weight].endswith("-SC-flat.otf") and _subroutines(found[weight]) == 0
    assert sorted(p.name for p in (tmp_path / "cache" / "fonts").iterdir()) == [
        "NotoSansCJK-Bold-SC-flat.otf", "NotoSansCJK-Regular-SC-flat.otf"]  # no temporary file left
    text = "骨直写办事大厅请刷身份证，谢谢！ABC abc 0123456789"
    for size in (20, 24, 31, 52, 120):
        a, b = _render(str(plain), size, text), _render(found["regular"], size, text)
        assert a.getbbox() is not None  # something was drawn
        assert ImageChops.difference(a, b).getbbox() is None, f"size {size} draws differently"


def test_without_tx_the_plain_face_is_used(tmp_path, monkeypatch, caplog):
    # The logger's own level: the warning must not depend on the root level an earlier test or
    # fixture left (in the full suite the root was once above WARNING here and the line was lost).
    caplog.set_level(logging.WARNING, logger="kiosk.screens.fonts")
    monkeypatch.setattr(fonts, "tx_path", lambda: None)
    found = fonts.find_cjk_fonts(tmp_path)
    assert found["regular"].endswith("NotoSansCJK-Regular-SC.otf") and _subroutines(found["regular"]) > 0
    assert "tx not found" in caplog.text


@pytest.mark.parametrize("tx, why", [("/bin/false", "tx exited 1"), ("/nonexistent/tx", "tx did not start")])
def test_a_failing_tx_leaves_the_plain_face_and_no_debris(tmp_path, monkeypatch, caplog, tx, why):
    monkeypatch.setattr(fonts, "tx_path", lambda: tx)
    found = fonts.find_cjk_fonts(tmp_path)
    assert found["regular"].endswith("NotoSansCJK-Regular-SC.otf")
    said = [getattr(r, "error", "") for r in caplog.records if "could not flatten" in r.getMessage()]
    assert len(said) == 2 and all(w.startswith(why) for w in said), said
    assert sorted(p.name for p in (tmp_path / "cache" / "fonts").iterdir()) == [
        "NotoSansCJK-Bold-SC.otf", "NotoSansCJK-Regular-SC.otf"]
    # tx back: the next start flattens and drops the plain copy
    monkeypatch.undo()
    assert fonts.find_cjk_fonts(tmp_path)["regular"].endswith("-SC-flat.otf")
    assert sorted(p.name for p in (tmp_path / "cache" / "fonts").iterdir()) == [
        "NotoSansCJK-Bold-SC-flat.otf", "NotoSansCJK-Regular-SC-flat.otf"]


def test_missing_configured_font_is_a_clear_error(tmp_path):
    with pytest.raises(fonts.FontMissing) as e:
        fonts.find_cjk_fonts(tmp_path, str(tmp_path / "nope.ttf"))
    assert "ui.font" in str(e.value) and e.value.action


def test_no_noto_and_no_font_configured_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "NOTO_DIR", tmp_path / "none")
    with pytest.raises(fonts.FontMissing) as e:
        fonts.find_cjk_fonts(tmp_path)
    assert "fonts-noto-cjk" in e.value.action
