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


def run_until_stopped(app, *, stopper: SignalStop | None = None, on_stop=None):
    """Run ``app`` (a kiosk or mobile App) until it stops; never a traceback on the screen.
    ``stopper``: a :class:`SignalStop` armed before the window was made (``kiosk run``)."""
    if stopper is not None:
        stopper.attach(app)
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


class SignalStop:
    """SIGTERM/SIGINT -> ``app.stop()`` on Kivy's main thread (a handler must not touch widgets).

    Armed BEFORE the window exists (:meth:`arm`), and the app attached once it is built: a signal
    in between (systemd stopping a terminal that is still starting: fonts, screens, a loaded
    machine) is held and acted on at the app's first frame. Why it matters: SDL, when it opens the
    window, installs its own SIGTERM/SIGINT handlers wherever the process still has the default
    ones, and turns the signal into a window close request, which the kiosk's lockdown refuses
    (kiosk.screens.lockdown): a ``kiosk run`` signalled in that gap never stopped (a loaded test
    run saw it). SDL leaves a handler that is already there alone, and kivyenv tells SDL to
    install none at all (``SDL_NO_SIGNAL_HANDLERS``).
    """

    def __init__(self) -> None:
        self._app = None
        self._clock = None
        self.pending = False

    @classmethod
    def arm(cls) -> SignalStop:
        import signal
        stopper = cls()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stopper._handler)
        return stopper

    def attach(self, app) -> None:
        """From now on a signal stops ``app``; one that came before stops it at its first frame."""
        from kivy.clock import Clock  # imported here, never in the handler (which may interrupt an import)
        self._clock, self._app = Clock, app
        if self.pending:
            self._schedule_stop()

    def _handler(self, signum, frame) -> None:
        import signal
        log.info("stopping on a signal", extra={"signal": signal.Signals(signum).name,
                                                "app_running": self._app is not None})
        if self._app is None:
            self.pending = True
        else:
            self._schedule_stop()

    def _schedule_stop(self) -> None:
        app, clock = self._app, self._clock
        assert app is not None and clock is not None
        clock.schedule_once(lambda dt: app.stop(), 0)
