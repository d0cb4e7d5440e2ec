"""``run_mobile_app``: build the mobile UI on a runtime (profile ``mobile``) and run it, or a tour.

Kivy's environment and window size are set before Kivy is imported (kiosk.screens.kivyenv); the
Kivy classes live in :mod:`kiosk.screens.mobile.ui`, imported only after that.
"""
from __future__ import annotations

import logging

from kiosk.screens import kivyenv

log = logging.getLogger("kiosk.screens.mobile")


def run_mobile_app(runtime, *, driver=None, width: int = 720, height: int = 1280):
    """Build the mobile app on ``runtime`` and run it until it stops; returns the app. ``driver``:
    as for :func:`kiosk.screens.app.run_app`."""
    kivyenv.prepare(width, height, False)
    from kiosk.screens import fonts
    font_files = fonts.find_cjk_fonts(runtime.cfg.get("runtime.state_dir", "var"), runtime.cfg.get("ui.font", ""))
    fonts.register(font_files)
    from kiosk.screens.mobile.ui import MobileApp  # creates the Window: only after prepare()
    from kiosk.services.mobile import MobileService
    service = MobileService.from_runtime(runtime)
    app = MobileApp(runtime, service, driver=driver)
    try:
        app.run()
    except Exception as e:  # never a traceback on the staff member's screen
        log.exception("the mobile UI stopped on an error")
        app.ui_error = f"{type(e).__name__}: {e}"
    finally:
        app.close_bridge()
        service.close()
    return app
