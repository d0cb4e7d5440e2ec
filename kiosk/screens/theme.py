"""Colours, type sizes and touch-target sizes of the touchscreen (high contrast, large targets).

Sizes are given for the 1280x800 reference layout and scaled by the app's ``k`` factor: the
smaller of window width / 1280 and height / 800 (a 1920x1080 panel scales by 1.35, a 1080x1920
portrait panel by 0.84 so that no row is wider than the window), times ELDER_SCALE in elder
mode. Touch targets are at least TOUCH_MM millimetres at the display's DPI (Kivy's
``Metrics.dpi``; set KIVY_DPI for a panel whose EDID lies), and in elder mode at least
ELDER_TARGET_DP (``kiosk check-layout`` checks every screen against these figures).
"""
from __future__ import annotations

#: Why 9 mm: the ISO 9241-9 / common guidance for finger targets; elderly users need at least that.
TOUCH_MM = 9.0
#: Elder mode enlarges all type and targets by this factor. Why 1.3: body text becomes 31 px on a
#: 10.1" 1280x800 panel (150 dpi), 33 dp, above the MIIT 适老化 figure for the large-type mode
#: (main text >= 30 dp; secondary text >= 18 dp: 20 px x 1.3 = 28 dp), and every screen still fits.
ELDER_SCALE = 1.3
#: MIIT 适老化 guidance for apps: main touch targets >= 60 x 60 dp in the elder version, 44 x 44 dp
#: elsewhere (1 dp = 1/160 inch).
ELDER_TARGET_DP, TARGET_DP = 60.0, 44.0
#: Reference size (px) the sizes below are designed for.
REF_WIDTH_PX, REF_HEIGHT_PX = 1280, 800

# Colours (RGBA 0..1). Contrast of text on these backgrounds is >= 7:1 (WCAG AAA) for body text.
BG = (0.96, 0.97, 0.98, 1)
SURFACE = (1, 1, 1, 1)
PRIMARY = (0.02, 0.27, 0.55, 1)        # government blue
PRIMARY_TEXT = (1, 1, 1, 1)
TEXT = (0.08, 0.09, 0.11, 1)
MUTED = (0.27, 0.30, 0.35, 1)
ACCENT = (0.72, 0.11, 0.11, 1)         # call staff / errors (red)
WARN = (0.62, 0.38, 0.0, 1)
OK = (0.0, 0.45, 0.2, 1)
BANNER = (0.99, 0.93, 0.75, 1)
SECONDARY = (0.85, 0.88, 0.92, 1)      # a secondary button
#: Disabled buttons: flat and pale, the text still legible (a locked form shows what was chosen,
#: a chosen option pale blue, the others pale grey); text on them 4.9:1 to 6.6:1 (WCAG AA), so
#: they read as off beside the enabled ones (9:1 and more) without fading out.
PRIMARY_OFF, PRIMARY_OFF_TEXT = (0.80, 0.86, 0.93, 1), (0.16, 0.28, 0.45, 1)
SECONDARY_OFF, MUTED_OFF = (0.92, 0.93, 0.95, 1), (0.38, 0.40, 0.44, 1)
DANGER_OFF, DANGER_OFF_TEXT = (0.93, 0.82, 0.82, 1), (0.55, 0.12, 0.12, 1)
#: Deadline flags, as the colour of an application's summary text. Yellow is a dark amber: the
#: bright (0.75, 0.55, 0) gave the summary 2.9:1 on BG, hard to read; this one 7:1.
FLAGS = {"green": OK, "yellow": (0.47, 0.29, 0.0, 1), "red": ACCENT}

# Type sizes (px at the reference height).
FONT_TITLE = 40
FONT_HEAD = 30
FONT_BODY = 24
FONT_SMALL = 20
FONT_HUGE = 120     # the queue number: readable from two metres
FONT_FIGURE = 56    # a figure to take in at a glance (a fee, a time limit, a window)

#: Tile / button heights (px at the reference height); never below the TOUCH_MM target.
BUTTON_H = 84
TILE_H = 200


def touch_px(dpi: float, elder: bool = False) -> float:
    """The minimum touch-target size in pixels at ``dpi`` (TOUCH_MM, and the MIIT dp figure)."""
    return max(TOUCH_MM / 25.4 * dpi, (ELDER_TARGET_DP if elder else TARGET_DP) * dpi / 160.0)


def scale(width: float, height: float, elder: bool) -> float:
    """The ``k`` factor of a window: the reference layout fits both ways, larger in elder mode."""
    base = min(width / REF_WIDTH_PX, height / REF_HEIGHT_PX) if width and height else 1.0
    return base * (ELDER_SCALE if elder else 1.0)
