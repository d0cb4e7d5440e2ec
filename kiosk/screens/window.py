"""What both touchscreens (the hall kiosk, kiosk.screens.app; the staff's mobile app,
kiosk.screens.mobile) do around their App: Kivy's environment and window before Kivy is imported,
the Chinese fonts, and the run until the app stops (on a signal too, for systemd's stop)."""
from __future__ import annotations

import logging

from kiosk.screens import kivyenv

log = logging.getLogger("kiosk.screens.app")


def prepare_window(settings, width=None, height=None, fullscreen=None, dpi=None):
    """Kivy's environment and window size, before anything imports Kivy's Window; returns the
    settings with the overrides applied (kiosk.services.facade.UiSettings)."""
    import dataclasses
    import os

    from kiosk.services.facade import UiSettings
    settings = settings or UiSettings()
    over = {k: v for k, v in (("width", width), ("height", height), ("fullscreen", fullscreen)) if v is not None}
    settings = dataclasses.replace(settings, **over)
    if dpi is not None:
        os.environ["KIVY_DPI"] = str(dpi)
    kivyenv.prepare(settings.width, settings.height, settings.fullscreen)
    return settings


def register_fonts(settings) -> dict:
    """Find (and cache) the Chinese faces and make them Kivy's default; returns their files."""
    from kiosk.screens import fonts
    font_files = fonts.find_cjk_fonts(settings.state_dir, settings.font)
    fonts.register(font_files)
    return font_files


def run_until_stopped(app, *, stop_on_signals: bool = False, on_stop=None):
    """Run ``app`` (a kiosk or mobile App) until it stops; never a traceback on the screen."""
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
