"""The Kivy application: builds the screens on a runtime, bridges bus events.

``run_app(runtime)`` is the one entry point (``kiosk run``; the demo's tours, the explorer and the
UI tests pass a ``driver``, see :func:`run_app`). Bus events arrive on device/network threads; every handler here is wrapped so
it runs on Kivy's main thread (kivy#7859), and frequent status updates are coalesced with a
Clock trigger. The app ends only from the maintenance screen (or when a tour finishes).
"""
from __future__ import annotations

import logging

from kiosk.screens import kivyenv

log = logging.getLogger("kiosk.screens.app")


def run_app(runtime, *, driver=None, width: int = 1280, height: int = 800,
            fullscreen: bool = False, dpi: float | None = None,
            stop_on_signals: bool = False, on_stop=None):
    """Build the app on ``runtime`` and run it until it stops; returns the app (``ui_error`` says
    why the UI stopped on an error, empty otherwise).

    ``driver(app)``: called once the screens are built; returns an object whose ``start()`` runs
    0.3 s later (the demo's tour runner, the explorer). The runtime's own code passes none.

    ``stop_on_signals`` (``kiosk run``): SIGTERM and SIGINT stop the app on its next frame, so the
    caller's ``runtime.stop()`` closes the devices and the network in order (systemd's stop).
    ``on_stop(app)``: called when the app stops, while its widgets still exist (tests, bench).
    ``inspector(ctx, step, done)``: called at every tour step once its state is drawn (the layout
    check); it calls ``done()`` to let the tour go on."""
    import os
    if dpi is not None:
        os.environ["KIVY_DPI"] = str(dpi)
    kivyenv.prepare(width, height, fullscreen)
    from kiosk.screens import fonts
    state_dir = runtime.cfg.get("runtime.state_dir", "var")
    font_files = fonts.find_cjk_fonts(state_dir, runtime.cfg.get("ui.font", ""))
    fonts.register(font_files)
    from kiosk.screens.kioskapp import KioskApp  # creates the Window: only after prepare()
    app = KioskApp(runtime, driver=driver, font_files=font_files)
    if stop_on_signals:
        _stop_on_signals(app)
    if on_stop is not None:
        app.bind(on_stop=on_stop)
    try:
        app.run()
    except Exception as e:  # the UI must never leave a traceback on the citizen's screen
        log.exception("the UI stopped on an error")
        app.ui_error = f"{type(e).__name__}: {e}"
    finally:
        app.close_bridge()
    return app


def _stop_on_signals(app) -> None:
    """SIGTERM/SIGINT -> ``app.stop()`` on Kivy's main thread (a handler must not touch widgets)."""
    import signal

    from kivy.clock import Clock

    def handler(signum, frame) -> None:
        log.info("stopping on a signal", extra={"signal": signal.Signals(signum).name})
        Clock.schedule_once(lambda dt: app.stop(), 0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
