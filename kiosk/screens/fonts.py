"""The CJK font: Noto Sans CJK's Simplified Chinese face, registered as Kivy's default font.

Debian's ``NotoSansCJK-Regular.ttc`` is a collection whose first face is Japanese; Kivy's SDL2
text provider opens a file with ``TTF_OpenFontRW`` and cannot choose a face index, so Chinese
would take Japanese glyph forms (e.g. 直, 骨, 写). At first start we extract the SC face with
fontTools into ``<state_dir>/cache/fonts/`` (a font, never citizen data) and register that file.
No CJK font at all is a start-up error with a clear message, never tofu boxes on screen.

The extracted face is then *flattened*: its CFF subroutines are expanded into the glyphs by
Adobe's ``tx`` (shipped in the cffsubr wheel; 2 s a face). Why: Kivy opens one FreeType face per
(font size, weight) it draws, and FreeType copies a face's CFF subroutines (1.1 MB in Noto CJK)
into memory for every face: 2.6 MiB a face as shipped, 0.8 MiB flattened; the kiosk draws about
17 (size, weight) pairs. Glyphs render pixel for pixel the same (tests compare them). Without
``tx`` (another architecture) the unflattened face is used, with a warning.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from kiosk.errors import KioskError

log = logging.getLogger("kiosk.screens.fonts")

#: Where Debian's fonts-noto-cjk puts the collections (Regular and Bold).
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
#: Face names inside the collection we accept, best first.
SC_FAMILIES = ("Noto Sans CJK SC",)
#: The name we register with Kivy's LabelBase (also Kivy's default font after register()).
FONT_NAME = "KioskCJK"
#: Why a bound: tx flattens a 16 MB CJK face in about 2 s; a hung tx must not hold the start.
TX_TIMEOUT_S = 120.0


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


def _fresh(path: Path, source: Path) -> bool:
    """``path`` exists, is not empty and is not older than ``source``."""
    return path.exists() and path.stat().st_size > 0 and path.stat().st_mtime >= source.stat().st_mtime


def extract_sc_face(ttc: Path, cache_dir: Path) -> Path:
    """The SC face of a .ttc as a standalone, flattened .otf in ``cache_dir`` (made once).

    Returns the flattened face, or the plain extracted face when it cannot be flattened."""
    return extract_sc_faces([ttc], cache_dir)[0]


def extract_sc_faces(ttcs: list[Path], cache_dir: Path) -> list[Path]:
    """:func:`extract_sc_face` for several collections, their ``tx`` runs side by side.

    All fontTools work stays in the calling thread on purpose: a worker thread gets its own glibc
    malloc arena, and the 30-odd MiB a 16 MB face passes through stayed resident in it (the
    kiosk's RSS after the bench tour was 383 or 417 MiB depending on the run, 351 without)."""
    out: list[Path] = []
    todo: list[tuple[int, Path, Path]] = []  # (index in out, plain face, flattened face)
    for ttc in ttcs:
        flat = cache_dir / (ttc.stem + "-SC-flat.otf")
        plain = cache_dir / (ttc.stem + "-SC.otf")
        if _fresh(flat, ttc):
            out.append(flat)
            continue
        if not _fresh(plain, ttc):
            _extract(ttc, plain)
        out.append(plain)
        todo.append((len(out) - 1, plain, flat))
    for (i, plain, flat), flattened in zip(todo, flatten_cffs([(plain, flat) for _, plain, flat in todo])):
        if flattened:
            plain.unlink(missing_ok=True)  # 16 MB no start reads again
            out[i] = flat
    return out


def _extract(ttc: Path, out: Path) -> None:
    """Write the SC face of ``ttc`` to ``out`` (atomically)."""
    from fontTools.ttLib import TTFont
    index = _sc_index(ttc)
    if index is None:
        raise FontMissing(f"{ttc}: no Simplified Chinese face in the collection",
                          action="install fonts-noto-cjk or set ui.font to a Chinese font file")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    font = TTFont(str(ttc), fontNumber=index, lazy=True)
    try:
        font.save(str(tmp))
    finally:
        font.close()
    os.replace(tmp, out)  # atomic: a crash mid-write never leaves a half font to load next time
    log.info("extracted the SC face of the CJK font", extra={"font": str(out)})


def tx_path() -> str | None:
    """Adobe's ``tx`` (from the cffsubr wheel, else on PATH), or None."""
    try:
        from importlib.resources import files
        bundled = files("cffsubr").joinpath("tx")
        if bundled.is_file() and os.access(str(bundled), os.X_OK):
            return str(bundled)
    except (ImportError, ModuleNotFoundError, TypeError):
        pass
    return shutil.which("tx")


def flatten_cff(src: Path, dst: Path) -> bool:
    """Write ``src`` with its CFF subroutines expanded to ``dst`` (atomically); False, with a
    warning, when ``tx`` is missing or fails (the caller keeps ``src``). Never raises for that."""
    return flatten_cffs([(src, dst)])[0]


def flatten_cffs(pairs: list[tuple[Path, Path]]) -> list[bool]:
    """:func:`flatten_cff` for each (src, dst), the ``tx`` processes running side by side."""
    if not pairs:
        return []
    tx = tx_path()
    if tx is None:
        log.warning("tx not found (cffsubr not installed for this machine): the CJK font stays "
                    "unflattened and each font size costs 2.6 MiB instead of 0.8")
        return [False] * len(pairs)
    # -cff: write a CFF font set, unsubroutinized unless +S; +b: keep the glyph order (the
    # font's other tables index glyphs by it); hints are kept.
    procs: list[subprocess.Popen[str] | OSError] = []
    for src, dst in pairs:
        cff = dst.with_suffix(".cff.tmp")
        try:
            procs.append(subprocess.Popen([tx, "-cff", "+b", "-o", str(cff), str(src)], stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
        except OSError as e:
            procs.append(e)
    return [_finish_flatten(proc, src, dst) for proc, (src, dst) in zip(procs, pairs)]


def _finish_flatten(proc, src: Path, dst: Path) -> bool:
    """Wait for one ``tx`` run and build ``dst`` from its output; False, with a warning, on failure."""
    cff = dst.with_suffix(".cff.tmp")
    tmp = dst.with_suffix(".tmp")
    try:
        if isinstance(proc, OSError):
            raise RuntimeError(f"tx did not start: {proc}")
        try:
            output, _ = proc.communicate(timeout=TX_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError(f"tx did not finish within {TX_TIMEOUT_S:.0f} s") from None
        if proc.returncode != 0 or not cff.is_file():
            raise RuntimeError(f"tx exited {proc.returncode}: {(output or '').strip()[-300:]}")
        _replace_cff(src, cff, tmp)
        os.replace(tmp, dst)
    except Exception as e:  # the plain face still works: a bigger footprint, never a blank screen
        log.warning("could not flatten the CJK font; using it as it is", extra={"font": str(src), "error": str(e)})
        return False
    finally:
        cff.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    log.info("flattened the CJK font's CFF subroutines", extra={"font": str(dst)})
    return True


def _replace_cff(src: Path, cff: Path, out: Path) -> None:
    """Copy ``src`` to ``out`` with its CFF table's bytes replaced by the file ``cff``; checks
    that the new table parses and keeps every glyph."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.tables.DefaultTable import DefaultTable
    # recalc*=False: every other table is copied byte for byte (nothing to recompute from the CFF).
    font = TTFont(str(src), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    try:
        glyphs = len(font.getGlyphOrder())
        table = DefaultTable("CFF ")
        table.data = cff.read_bytes()
        font["CFF "] = table
        font.save(str(out))
    finally:
        font.close()
    check = TTFont(str(out), lazy=True)
    try:
        top = check["CFF "].cff.topDictIndex[0]
        if len(top.charset) != glyphs:
            raise RuntimeError(f"flattened font has {len(top.charset)} glyphs, not {glyphs}")
    finally:
        check.close()


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
    bold = NOTO_DIR / "NotoSansCJK-Bold.ttc"
    weights = {"regular": regular, **({"bold": bold} if bold.is_file() else {})}
    # Both faces at once at a first start (the tx runs side by side): 2.6 s instead of 4.7 s.
    return {w: str(p) for w, p in zip(weights, extract_sc_faces(list(weights.values()), cache))}


def register(fonts: dict[str, str]) -> str:
    """Register the font with Kivy as FONT_NAME and make it the default of every Label."""
    from kivy.core.text import DEFAULT_FONT, LabelBase
    regular = fonts["regular"]
    bold = fonts.get("bold", regular)
    LabelBase.register(FONT_NAME, fn_regular=regular, fn_bold=bold)
    LabelBase.register(DEFAULT_FONT, fn_regular=regular, fn_bold=bold)
    return FONT_NAME
