"""Kivy's process environment: what must be set before the first ``import kivy``.

Kivy reads its environment at import time (argument parsing, the user config file, console
logging); a kiosk must not parse the command line, must not write ~/.kivy/config.ini and logs
through our own JSON logging instead.
"""
from __future__ import annotations

import os
import sys

#: Set before importing kivy. Why each one: no argv parsing (the kiosk CLI owns argv), no user
#: config file (the terminal's TOML is the only config), no console handler (ours redacts).
DEFAULTS = {
    "KIVY_NO_ARGS": "1",
    "KIVY_USE_DEFAULTCONFIG": "1",
    "KIVY_NO_CONSOLELOG": "1",
    "KIVY_NO_FILELOG": "1",
    "KIVY_WINDOW": "sdl2",
    "KIVY_LOG_MODE": "PYTHON",
    # SDL would otherwise put its own SIGTERM/SIGINT handlers in place of default ones when it
    # opens the window, turning a stop into a close request that the kiosk's lockdown refuses
    # (kiosk.screens.window.SignalStop): a signal either reaches our handler or ends the process.
    "SDL_NO_SIGNAL_HANDLERS": "1",
}


def prepare(width: int = 1280, height: int = 800, fullscreen: bool = False) -> None:
    """Set Kivy's environment and window size; must run before kivy is imported."""
    if "kivy" in sys.modules:
        # Too late for the environment; the window size can still be set through Config below.
        pass
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    from kivy.config import Config  # after the environment, on purpose
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    # No MSAA (Kivy's default is 2 samples): with Mesa's software GL (llvmpipe, no GPU) the
    # multisampled colour and depth buffers of the window live in the process, 32 MiB at
    # 1280x800 (a bare window: 169 -> 134 MiB). Text is drawn from textures and the rectangles are
    # axis-aligned, so only curves would show it; those use Kivy's Smooth* instructions instead.
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")   # exit only from the maintenance screen
    Config.set("input", "mouse", "mouse,disable_multitouch")
