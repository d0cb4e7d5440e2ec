"""The layout rules: judge snapshots (hall_demo.layoutprobe) of one tour state, as plain data.

Each rule returns findings ``{"rule", "widget", "detail"}``; the caller adds where (size, language,
mode, screen, state). Rectangles are ``(x, y, w, h)`` in window pixels, y up (Kivy's).

Figures, and why:
- touch targets: at least ``TOUCH_MM`` (9 mm, kiosk.screens.theme) and at least 44 x 44 dp in the
  standard mode, 60 x 60 dp in elder mode: the MIIT 适老化 guidance for apps
  (《移动互联网应用(App)适老化通用设计规范》 2.1 组件焦点大小: 适老版 main components' touch area
  >= 60 x 60 dp, other pages >= 44 x 44 dp). A finger does not shrink with viewing distance, so
  dp are taken as physical size: 1 dp = 1/160 inch on the panel, at the profile's DPI.
- type in elder mode: every text >= 18 dp (same spec 1.1: 适老版 main text >= 18 dp) and the
  main text (what the standard mode sets at body size or larger) >= 30 dp (1.1: the largest font
  of main text >= 30 dp, i.e. what the large-type mode must reach), and every text at least
  ``ELDER_SCALE`` times its standard size (the mode really enlarges; nothing is left behind), but
  for display type already ``DISPLAY_DP`` or more in the standard mode (the queue number).
  1 dp = 1/160 inch too: a kiosk is read from a little further than a phone, so these are floors.
- elder mode never makes a keypad's key smaller than in the standard mode (either side), at the
  same panel size: the enlarged title and labels must not take the keys' room (elder_targets).
- Chinese line breaks: running text may break between any two characters (ordinary Chinese
  typesetting), but a name or a title (a button's text, or a label of at most ``NAME_MAX``
  characters without sentence punctuation) must not break inside a word (words: jieba's
  dictionary); no line starts with closing punctuation (避头点). English breaks only at spaces.
  A number in groups never wraps between its groups; a colon after Chinese is the full-width "：".
"""
from __future__ import annotations

import re

#: Pixels of rounding tolerated (Kivy positions textures on whole pixels).
TOL = 1.5
#: MIIT 适老化 figures (dp) and the physical floor (mm); see the module docstring.
TARGET_DP_STANDARD, TARGET_DP_ELDER, TARGET_MM = 44.0, 60.0, 9.0
TEXT_DP_ELDER_ALL, TEXT_DP_ELDER_MAIN = 18.0, 30.0
#: Type this large in the standard mode is display type (the queue number): not scaled further.
DISPLAY_DP = 60.0
#: Sentence punctuation: a text with it is running text, which may break between any characters.
SENTENCE = set("，。；：？！,;?!")
#: A text this short (characters, whitespace excluded) is a name or a title: no mid-word break.
NAME_MAX = 40
#: Characters that must not start a line (Chinese and Latin closing punctuation).
NO_LINE_START = set("，。、；：？！）》」』】〉”’,.;:?!)%")
#: Characters that must not end a line (Chinese and Latin opening punctuation and quotes).
NO_LINE_END = set("（(《「『【〈“‘")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def px_of_dp(dp: float, dpi: float) -> float:
    """Pixels of ``dp`` density-independent pixels (1/160 inch) at ``dpi``."""
    return dp * dpi / 160.0


def px_of_mm(mm: float, dpi: float) -> float:
    """Pixels of ``mm`` millimetres at ``dpi``."""
    return mm / 25.4 * dpi


def target_px(dpi: float, elder: bool) -> float:
    """The smallest touch target side (px) allowed at ``dpi`` in the given mode."""
    return max(px_of_mm(TARGET_MM, dpi), px_of_dp(TARGET_DP_ELDER if elder else TARGET_DP_STANDARD, dpi))


def name_of(rec: dict) -> str:
    """How a finding names a widget: its tour id, else its class and the start of its text."""
    if rec.get("tour_id"):
        return rec["tour_id"]
    text = (rec.get("text") or {}).get("text", "")
    text = " ".join(text.split())
    return f"{rec['cls']} '{text[:28]}{'…' if len(text) > 28 else ''}'" if text else rec["cls"]


def _overlap(a, b) -> tuple[float, float]:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w, h


def _clip(r, clip):
    if clip is None:
        return r
    x0, y0 = max(r[0], clip[0]), max(r[1], clip[1])
    x1, y1 = min(r[0] + r[2], clip[0] + clip[2]), min(r[1] + r[3], clip[1] + clip[3])
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def _fmt(r) -> str:
    return f"{r[2]:.0f}x{r[3]:.0f}@({r[0]:.0f},{r[1]:.0f})"


def _f(rule: str, rec: dict | None, detail: str, widget: str = "") -> dict:
    return {"rule": rule, "widget": widget or (name_of(rec) if rec else ""), "detail": detail}


# -- text --------------------------------------------------------------------------------------
def text_fit(snap: dict) -> list[dict]:
    """Rendered text outside its widget's box (Kivy draws it anyway, over its neighbours)."""
    out = []
    for rec in snap["widgets"]:
        t = rec["text"]
        if not t or not t["lines"]:
            continue
        box = rec["rect"]
        ink = _union([ln["rect"] for ln in t["lines"]])
        over = (box[0] - ink[0], ink[0] + ink[2] - box[0] - box[2], box[1] - ink[1], ink[1] + ink[3] - box[1] - box[3])
        if max(over) > TOL:
            tex = t["texture"]
            out.append(_f("text-fit", rec, f"text {ink[2]:.0f}x{ink[3]:.0f} (texture {tex[2]:.0f}x{tex[3]:.0f}) "
                                           f"does not fit its box {box[2]:.0f}x{box[3]:.0f}: "
                                           f"{max(over):.0f} px out"))
    return out


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def text_cut(snap: dict) -> list[dict]:
    """Text Kivy did not draw in full: shortened with "...", or lines dropped by a fixed height."""
    out = []
    for rec in snap["widgets"]:
        t = rec["text"]
        if not t:
            continue
        shown = "".join(ln["text"] for ln in t["lines"])
        if t["shortened"] or _squash(shown) != _squash(t["text"]):
            out.append(_f("text-cut", rec, f"shows {shown[:40]!r} of {t['text'][:60]!r}"))
    return out


def _union(rects):
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return (x0, y0, x1 - x0, y1 - y0)


# -- overlap -----------------------------------------------------------------------------------
def _drawn(snap: dict) -> list[tuple]:
    """(rect, rec, kind) of every box that paints: filled widgets and each line of text,
    clipped by the ScrollView they sit in."""
    out = []
    for rec in snap["widgets"]:
        if rec["role"] == "modal":
            continue
        if rec["filled"]:
            r = _clip(rec["rect"], rec["clip"])
            if r[2] > TOL and r[3] > TOL:
                out.append((r, rec, "box"))
        t = rec["text"]
        if t:
            for ln in t["lines"]:
                r = _clip(ln["rect"], rec["clip"])
                if r[2] > TOL and r[3] > TOL:
                    out.append((r, rec, "text"))
    return out


def overlaps(snap: dict) -> list[dict]:
    """Two things drawn over each other that do not belong together: text over text, text over
    a button or a card it is not part of, a button over a button, a banner over a button."""
    drawn = sorted(_drawn(snap), key=lambda d: d[0][0])
    seen_pairs: set[tuple] = set()
    out = []
    for i, (ra, a, ka) in enumerate(drawn):
        for rb, b, kb in drawn[i + 1:]:
            if rb[0] >= ra[0] + ra[2] - TOL:
                break
            if a["uid"] == b["uid"] or a["uid"] in b["ancestors"] or b["uid"] in a["ancestors"]:
                continue
            if {a["role"], b["role"]} == {"header", "screen"}:
                continue      # reported by placement as "under the header"
            w, h = _overlap(ra, rb)
            if w <= TOL or h <= TOL:
                continue
            pair = (min(a["uid"], b["uid"]), max(a["uid"], b["uid"]))
            if pair in seen_pairs:
                continue
            seen_pairs.add(pair)
            what = {("text", "text"): "text over text", ("box", "box"): "box over box"}.get((ka, kb), "text over a box")
            out.append(_f("overlap", a, f"{what}: {name_of(a)} and {name_of(b)} share {w:.0f}x{h:.0f} px",
                          widget=f"{name_of(a)} / {name_of(b)}"))
    return out


# -- placement ---------------------------------------------------------------------------------
def placement(snap: dict) -> list[dict]:
    """Widgets outside the window, and screen widgets outside the screen's area: above it they
    sit under the header (or the banners), below it off the screen."""
    out = []
    W, H = snap["window"]
    area = snap["screen_area"]
    for rec in snap["widgets"]:
        r = _clip(rec["rect"], rec["clip"])
        if r[2] <= TOL or r[3] <= TOL:
            continue
        if r[0] < -TOL or r[1] < -TOL or r[0] + r[2] > W + TOL or r[1] + r[3] > H + TOL:
            out.append(_f("outside-window", rec, f"{_fmt(r)} in a {W:.0f}x{H:.0f} window"))
            continue
        if rec["role"] != "screen":
            continue
        if r[1] + r[3] > area[1] + area[3] + TOL:
            out.append(_f("under-header", rec, f"top edge {r[1] + r[3] - area[1] - area[3]:.0f} px above the "
                                               f"screen area, under the header"))
        elif r[1] < area[1] - TOL or r[0] < area[0] - TOL or r[0] + r[2] > area[0] + area[2] + TOL:
            out.append(_f("outside-screen", rec, f"{_fmt(r)} outside the screen area {_fmt(area)}"))
    return out


# -- touch targets -----------------------------------------------------------------------------
def targets(snap: dict, dpi: float) -> list[dict]:
    """Enabled buttons smaller than the target size of the mode (see the module docstring)."""
    need = target_px(dpi, snap["elder"])
    out = []
    for rec in snap["widgets"]:
        if not rec["interactive"] or rec["role"] == "modal":
            continue
        r = rec["rect"]
        seen = _clip(r, rec["clip"])
        if seen[2] * seen[3] < 0.5 * r[2] * r[3]:
            continue        # mostly scrolled out of view: judged where it scrolls in
        if min(r[2], r[3]) < need - 0.5:
            mm = min(r[2], r[3]) / dpi * 25.4
            out.append(_f("target-size", rec, f"{r[2]:.0f}x{r[3]:.0f} px = {mm:.1f} mm; needs {need:.0f} px "
                                              f"({'60' if snap['elder'] else '44'} dp / 9 mm at {dpi:g} dpi)"))
    return out


# -- scrolling ---------------------------------------------------------------------------------
def scroll_hints(snap: dict, dpi: float) -> list[dict]:
    """A list longer than its view must show that it scrolls: a bar visible while idle, at least
    1.5 mm wide and half opaque (Kivy's default is 2 dp at 20 % and appears only while moving)."""
    out = []
    for s in snap["scrolls"]:
        if not s["do_scroll_y"] or s["content"][1] <= s["rect"][3] + TOL:
            continue
        ok = s["bar_width"] >= px_of_mm(1.5, dpi) - 0.5 and s["bar_inactive_alpha"] >= 0.5
        if not ok:
            hidden = s["content"][1] - s["rect"][3]
            out.append(_f("scroll-hint", None, f"content {hidden:.0f} px taller than the view, no visible sign it "
                                               f"scrolls (bar {s['bar_width']:.0f} px, idle alpha "
                                               f"{s['bar_inactive_alpha']:.1f})",
                          widget=f"ScrollView {_fmt(s['rect'])}"))
    return out


# -- language ----------------------------------------------------------------------------------
def cjk_on_english(snap: dict, allowed: set[str]) -> list[dict]:
    """Chinese on an English screen that is not a proper name without an English form (the
    catalogue's names lacking ``name_en``, the citizen's masked name) nor the switch to 中文."""
    if snap["lang"] != "en":
        return []
    pool = [a for a in allowed if a] + [snap.get("citizen_text", "")]
    out = []
    for rec in snap["widgets"]:
        t = rec["text"]
        if not t or rec["tour_id"] == "lang":
            continue
        bad = [run for run in _CJK.findall(t["text"]) if not any(run in name for name in pool if name)]
        if bad:
            out.append(_f("cjk-on-english", rec, "Chinese on an English screen: " + ", ".join(repr(b) for b in bad[:4])))
    return out


# -- line breaks -------------------------------------------------------------------------------
def line_breaks(snap: dict, is_boundary) -> list[dict]:
    """Breaks inside a word (English always; Chinese in names and short titles, judged by
    ``is_boundary(text, offset)``), lines that start with closing punctuation, lines that end
    with opening punctuation, and a number in groups (an ID or phone number as typed: 410104
    19920927 3156) wrapped between two of its groups: it is read and checked group by group."""
    out = []
    for rec in snap["widgets"]:
        t = rec["text"]
        if not t or len(t["lines"]) < 2:
            continue
        full = t["text"]
        short = rec["button"] or (len(_squash(full)) <= NAME_MAX and not SENTENCE & set(full))
        cursor = 0
        for i, ln in enumerate(t["lines"]):
            idx = full.find(ln["text"].strip(), cursor)
            if idx < 0:
                break
            if i > 0:
                gap = full[cursor:idx]
                first = ln["text"].strip()[:1]
                if first in NO_LINE_START:
                    out.append(_f("line-break", rec, f"line starts with {first!r}"))
                elif gap and not gap.strip() and "\n" not in gap and full[cursor - 1:cursor].isdigit() \
                        and full[idx].isdigit():
                    out.append(_f("line-break", rec, f"number broken between its groups: "
                                                     f"{full[max(0, cursor - 12):cursor]!r} | {full[idx:idx + 12]!r}"))
                elif gap == "" and idx > 0 and full[idx - 1] in NO_LINE_END:
                    out.append(_f("line-break", rec, f"line ends with {full[idx - 1]!r}"))
                elif gap == "" and idx > 0:
                    before, after = full[idx - 1], full[idx]
                    if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
                        out.append(_f("line-break", rec, f"word broken: {full[max(0, idx - 12):idx]!r} | "
                                                         f"{full[idx:idx + 12]!r}"))
                    elif short and _CJK_CHAR.match(before) and _CJK_CHAR.match(after) and not is_boundary(full, idx):
                        out.append(_f("line-break", rec, f"word broken: {full[max(0, idx - 8):idx]!r} | "
                                                         f"{full[idx:idx + 8]!r}"))
            cursor = idx + len(ln["text"].strip())
    return out


# -- elder mode --------------------------------------------------------------------------------
def elder_scale(std: dict, elder: dict, dpi: float, scale: float, body_px_ref: float) -> list[dict]:
    """Elder mode really enlarges: the scale factor, every text at least ``scale`` times its
    standard size, and the MIIT type figures (see the module docstring)."""
    out = []
    if abs(elder["k"] - std["k"] * scale) > 0.01 * std["k"]:
        out.append(_f("elder-scale", None, f"k is {elder['k']:.3f} in elder mode, {std['k']:.3f} x {scale} expected",
                      widget="app.k"))
    std_fonts = {r["uid"]: min(r["text"]["fonts"]) for r in std["widgets"] if r["text"]}
    floor_all, floor_main = px_of_dp(TEXT_DP_ELDER_ALL, dpi), px_of_dp(TEXT_DP_ELDER_MAIN, dpi)
    for rec in elder["widgets"]:
        if not rec["text"] or rec["role"] == "modal":
            continue
        size = min(rec["text"]["fonts"])
        before = std_fonts.get(rec["uid"])
        if before is not None and size < before * scale - 0.6 and before < px_of_dp(DISPLAY_DP, dpi):
            out.append(_f("elder-scale", rec, f"type {before:.0f} px in standard mode, {size:.0f} px in elder mode "
                                              f"(x{scale} = {before * scale:.0f} expected)"))
        main = before is not None and before >= body_px_ref * std["k"] - 0.6
        floor = floor_main if main else floor_all
        if size < floor - 0.5:
            out.append(_f("elder-type", rec, f"{'main ' if main else ''}type {size:.0f} px < "
                                             f"{TEXT_DP_ELDER_MAIN if main else TEXT_DP_ELDER_ALL:.0f} dp "
                                             f"({floor:.0f} px at {dpi:g} dpi)"))
    return out


def elder_targets(std: dict, elder: dict, *, keys_only: bool = True) -> list[dict]:
    """Large type never makes a touch target smaller: a keypad key (tour id ``key_...``; with
    ``keys_only=False`` any touch target) shown in both snapshots of a state (the same widget, the
    same panel) must be at least as wide and as tall in elder mode as in the standard mode. Why: the
    progress, complaint, call-back and PIN keypads' keys went from 114x86 px to 149x56-62 px in
    large type (the title, labels and button row grow with the type and took the keypad's height),
    while every single key still met the 60 dp floor. Keys only by default: other targets (the
    complaint form's reasons, stretched to share a column with a taller title and button row) may
    give some height where the elder floor still holds."""
    before = {r["uid"]: r for r in std["widgets"] if r["interactive"] and r["role"] != "modal"}
    out = []
    for rec in elder["widgets"]:
        b = before.get(rec["uid"])
        if b is None or not rec["interactive"] or rec["role"] == "modal":
            continue
        if keys_only and not rec["tour_id"].startswith("key_"):
            continue
        (w0, h0), (w1, h1) = b["rect"][2:], rec["rect"][2:]
        if w1 < w0 - TOL or h1 < h0 - TOL:
            out.append(_f("elder-target", rec, f"{w1:.0f}x{h1:.0f} px in elder mode, {w0:.0f}x{h0:.0f} px in the "
                                               f"standard mode: large type must not make it smaller"))
    return out


# -- punctuation -------------------------------------------------------------------------------
#: A half-width colon right after a Chinese character (身份证号码: 410104): Chinese joins a label
#: to its value with the full-width "：" (kiosk.screens.i18n.colon), as the translations do.
_HALF_COLON = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff08\uff09]:")


def half_width_colon(snap: dict) -> list[dict]:
    """A half-width ":" after Chinese text: beside 姓名：… on the same screen it looks like a slip."""
    out = []
    for rec in snap["widgets"]:
        t = rec["text"]
        m = _HALF_COLON.search(t["text"]) if t else None
        if m:
            out.append(_f("half-width-colon", rec, f"half-width colon after Chinese: "
                                                   f"{t['text'][max(0, m.start() - 8):m.end() + 8]!r}"))
    return out


def check_mode(snap: dict, dpi: float, allowed: set[str], is_boundary) -> list[dict]:
    """Every rule that looks at one snapshot."""
    return (text_fit(snap) + text_cut(snap) + overlaps(snap) + placement(snap) + targets(snap, dpi)
            + scroll_hints(snap, dpi) + cjk_on_english(snap, allowed) + line_breaks(snap, is_boundary)
            + half_width_colon(snap))
