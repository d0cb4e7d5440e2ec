"""The panels the kiosk runs on, and the DPI each is assumed to have: what a millimetre is on
screen (touch targets are sized in millimetres). ``kiosk check-layout`` judges each panel at its
DPI, and ``make demo`` runs at the DPI of the panel of its window size, so its screenshots show
that panel. Why these figures: hall_demo.layoutcheck's module docstring.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    """One panel the kiosk runs on: window size, DPI and what it is."""

    width: int
    height: int
    dpi: float
    what: str

    @property
    def name(self) -> str:
        """``WxH``."""
        return f"{self.width}x{self.height}"


PANELS = {p.name: p for p in (
    Panel(1280, 800, 150.0, '10.1" landscape'),
    Panel(1920, 1080, 102.5, '21.5" landscape'),
    Panel(1080, 1920, 102.5, '21.5" portrait'),
)}
