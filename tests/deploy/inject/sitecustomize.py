"""Failure hooks for the deployment tests, loaded only through the test drop-ins' PYTHONPATH.

Never installed on a terminal. Each signal makes the kiosk fail one way the units must survive:

- SIGUSR1: an uncaught Python exception in the main thread (``InjectedFailure``);
- SIGUSR2: the main thread blocks for good. Under a UI that is Kivy's main loop: the UI stops
  beating while the core's tick thread runs on (a hung UI, kiosk.runtime.UI_HANG_S);
- SIGWINCH: Kivy redraws every frame for 3 s. Why: cage 0.1.4 shows a full-screen client by
  direct scan-out, and a screencopy (grim) then gets only the regions damaged since; an idle
  kiosk screen damages none, so the screenshot would be black without fresh frames.
"""
import signal
import sys
import time


class InjectedFailure(RuntimeError):
    """Raised by SIGUSR1: the test's stand-in for a bug in the kiosk."""


def _raise(signum, frame):
    raise InjectedFailure("injected by tests/deploy (SIGUSR1)")


def _hang(signum, frame):
    while True:
        time.sleep(3600)


def _redraw(signum, frame):
    if "kivy.core.window" not in sys.modules:
        return
    from kivy.clock import Clock
    from kivy.core.window import Window
    ev = Clock.schedule_interval(lambda dt: Window.canvas.ask_update(), 0)
    Clock.schedule_once(lambda dt: ev.cancel(), 3)


signal.signal(signal.SIGUSR1, _raise)
signal.signal(signal.SIGUSR2, _hang)
signal.signal(signal.SIGWINCH, _redraw)
