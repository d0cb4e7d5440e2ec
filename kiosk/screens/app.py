"""The Kivy application: builds the screens on a runtime, bridges bus events, runs a tour.

``run_app(runtime, tour=..., out_dir=...)`` is the one entry point (the CLI, ``make demo`` and the
UI tests call it). Bus events arrive on device/network threads; every handler here is wrapped so
it runs on Kivy's main thread (kivy#7859), and frequent status updates are coalesced with a
Clock trigger. The app ends only from the maintenance screen (or when a tour finishes).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.screens import kivyenv

log = logging.getLogger("kiosk.screens.app")



@dataclass
class StepResult:
    """One tour step: passed or not, why, and its screenshot."""

    name: str
    lang: str
    passed: bool
    message: str = ""
    screenshot: str | None = None
    small_targets: list = field(default_factory=list)   # buttons under TOUCH_MM on that screen


@dataclass
class RunResult:
    """What ``run_app`` returns: the tour's steps and screenshots (``ok`` when all passed)."""

    steps: list[StepResult] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when there was no error and every step passed."""
        return not self.error and all(s.passed for s in self.steps)

    @property
    def screenshots(self) -> list[str]:
        """Paths of the saved screenshots, in order."""
        return [s.screenshot for s in self.steps if s.screenshot]

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {"ok": self.ok, "error": self.error, "steps": [vars(s) for s in self.steps]}


def run_app(runtime, *, tour=None, out_dir=None, width: int = 1280, height: int = 800,
            sim=None, fullscreen: bool = False, dpi: float | None = None,
            stop_on_signals: bool = False, on_stop=None, inspector=None) -> RunResult:
    """Build the app on ``runtime`` and run it until it stops; play ``tour`` if given.

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
    app = KioskApp(runtime, tour=tour, sim=sim, out_dir=out_dir, font_files=font_files, inspector=inspector)
    if stop_on_signals:
        _stop_on_signals(app)
    if on_stop is not None:
        app.bind(on_stop=on_stop)
    try:
        app.run()
    except Exception as e:  # the UI must never leave a traceback on the citizen's screen
        log.exception("the UI stopped on an error")
        app.result.error = app.result.error or f"{type(e).__name__}: {e}"
    finally:
        app.close_bridge()
    return app.result


def _stop_on_signals(app) -> None:
    """SIGTERM/SIGINT -> ``app.stop()`` on Kivy's main thread (a handler must not touch widgets)."""
    import signal

    from kivy.clock import Clock

    def handler(signum, frame) -> None:
        log.info("stopping on a signal", extra={"signal": signal.Signals(signum).name})
        Clock.schedule_once(lambda dt: app.stop(), 0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
