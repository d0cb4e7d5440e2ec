"""Colours, type sizes and touch-target sizes of the touchscreen (high contrast, large targets).

Sizes are given for the 1280x800 reference layout and scaled by the app's ``k`` factor (window
height / 800, times ELDER_SCALE in elder mode). Touch targets are at least TOUCH_MM millimetres
at the display's DPI (Kivy's ``Metrics.dpi``; set KIVY_DPI for a panel whose EDID lies).
"""
from __future__ import annotations

#: Why 9 mm: the ISO 9241-9 / common guidance for finger targets; elderly users need at least that.
TOUCH_MM = 9.0
#: Elder mode enlarges all type and targets by this factor.
ELDER_SCALE = 1.3
#: Reference height (px) the sizes below are designed for.
REF_HEIGHT_PX = 800

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
FLAGS = {"green": OK, "yellow": (0.75, 0.55, 0.0, 1), "red": ACCENT}

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


def touch_px(dpi: float) -> float:
    """The minimum touch-target size in pixels at ``dpi``."""
    return TOUCH_MM / 25.4 * dpi
