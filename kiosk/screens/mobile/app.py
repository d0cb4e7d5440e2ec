"""``run_mobile_app``: build the mobile UI on the terminal's services (profile ``mobile``) and run
it, or a tour. ``kiosk run`` starts it through :func:`kiosk.screens.app.run_touchscreen` when the
config says ``terminal.profile = "mobile"``; the runtime has built the staff's service
(``services.mobile``) by then.

Kivy's environment and window size are set before Kivy is imported (kiosk.screens.kivyenv); the
Kivy classes live in :mod:`kiosk.screens.mobile.ui`, imported only after that.
"""
from __future__ import annotations

import logging

from kiosk.screens.window import SignalStop, prepare_window, register_fonts, run_until_stopped

log = logging.getLogger("kiosk.screens.mobile")

#: A phone held upright: the layouts are designed on 720x1280 (kiosk.screens.mobile.ui.REF_HEIGHT_PX).
PORTRAIT = (720, 1280)


def run_mobile_app(services, settings=None, *, driver=None, width: int | None = None, height: int | None = None,
                   fullscreen: bool | None = None, dpi: float | None = None, stop_on_signals: bool = False,
                   on_stop=None):
    """Build the mobile app on ``services`` (whose ``mobile`` is the staff's service) and run it
    until it stops; returns the app. Arguments as for :func:`kiosk.screens.app.run_app`; without
    ``settings`` the window is a portrait phone's."""
    if services.mobile is None:
        raise ValueError("the mobile app needs the mobile profile's services (terminal.profile = \"mobile\")")
    if settings is None:
        from kiosk.services.facade import UiSettings
        settings = UiSettings(width=PORTRAIT[0], height=PORTRAIT[1])
    # Armed before prepare_window: the window must find our handlers in place (window.SignalStop).
    stopper = SignalStop.arm() if stop_on_signals else None
    settings = prepare_window(settings, width, height, fullscreen, dpi)
    register_fonts(settings)
    from kiosk.screens.mobile.ui import MobileApp  # creates the Window: only after prepare()
    app = MobileApp(services, driver=driver)
    return run_until_stopped(app, stopper=stopper, on_stop=on_stop)
