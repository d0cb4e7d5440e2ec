"""The Kivy application: builds the screens on the terminal's services, bridges bus events.

``run_touchscreen(services, settings)`` is the entry point of ``kiosk run``: the hall kiosk
(:func:`run_app`) or, in the mobile profile, the staff app (kiosk.screens.mobile). The app is
handed the services (kiosk.services.facade.Services) and the UI's settings, never the runtime.
The demo's tours, the explorer and the UI tests pass a ``driver`` (see :func:`run_app`). Bus
events arrive on device/network threads; every handler here is wrapped so
it runs on Kivy's main thread (kivy#7859), and frequent status updates are coalesced with a
Clock trigger. The app ends only from the maintenance screen (or when a tour finishes).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kiosk.screens.window import SignalStop, prepare_window, register_fonts, run_until_stopped

if TYPE_CHECKING:
    from kiosk.services.facade import Services, UiSettings

log = logging.getLogger("kiosk.screens.app")


def run_touchscreen(services: Services, settings: UiSettings | None = None, **kw: Any) -> Any:
    """The touchscreen of the terminal's profile (``terminal.profile``, built by the runtime): the
    staff's mobile app where it is ``mobile``, else the hall kiosk. ``kw`` as for :func:`run_app`."""
    if services.info.profile == "mobile":
        from kiosk.screens.mobile.app import run_mobile_app
        return run_mobile_app(services, settings, **kw)
    return run_app(services, settings, **kw)


def run_app(services, settings=None, *, driver=None, width: int | None = None, height: int | None = None,
            fullscreen: bool | None = None, dpi: float | None = None,
            stop_on_signals: bool = False, on_stop=None):
    """Build the kiosk app on ``services`` and run it until it stops; returns the app (``ui_error``
    says why the UI stopped on an error, empty otherwise). ``settings``: a
    :class:`kiosk.services.facade.UiSettings` (the defaults when None); ``width``, ``height`` and
    ``fullscreen`` override its own.

    ``driver(app)``: called once the screens are built; returns an object whose ``start()`` runs
    0.3 s later (the demo's tour runner, the explorer). The runtime's own code passes none.

    ``stop_on_signals`` (``kiosk run``): SIGTERM and SIGINT stop the app on its next frame, so the
    caller's ``runtime.stop()`` closes the devices and the network in order (systemd's stop).
    ``on_stop(app)``: called when the app stops, while its widgets still exist (tests, bench)."""
    # Armed before prepare_window: the window must find our handlers in place (window.SignalStop).
    stopper = SignalStop.arm() if stop_on_signals else None
    settings = prepare_window(settings, width, height, fullscreen, dpi)
    font_files = register_fonts(settings)
    from kiosk.screens.kioskapp import KioskApp  # creates the Window: only after prepare()
    app = KioskApp(services, settings, driver=driver, font_files=font_files)
    return run_until_stopped(app, stopper=stopper, on_stop=on_stop)
