"""The ways out of a Kivy app that a kiosk must close, in one place (issue 6: "no way out of the
app but the maintenance screen with its PIN").

Kivy leaves three open by default:

- **F1** opens Kivy's own settings panel (``App._install_settings_keys``), and that panel edits
  Kivy's configuration, "exit on Escape" included: a keyboard (or a scanner in keyboard-wedge
  mode that a forged code drives) could switch the exit back on and leave. :class:`LockedApp`
  turns the panel off (``use_kivy_settings = False``, ``open_settings`` refuses).
- **Escape** stops the app (``exit_on_escape``): switched off in :mod:`kiosk.screens.kivyenv`.
- **A close request** from the window system (Alt+F4 under a window manager, the compositor or
  ``xdotool``/``wmctrl``) stops the app: :class:`LockedApp` refuses every ``on_request_close``;
  the maintenance screen's exit calls ``App.stop`` directly, which does not ask.

Under cage (deploy/session) there is no window manager, no decorations and no VT switch; a crash
brings the app back (systemd ``Restart=always``), never a desktop.
"""
from __future__ import annotations

import logging

log = logging.getLogger("kiosk.screens.lockdown")

#: Kivy's key codes: F1 (its settings panel) and Escape.
KEY_F1, KEY_ESCAPE = 282, 27


class LockedApp:
    """Mix in before ``kivy.app.App``: no settings panel, no close on request."""

    use_kivy_settings = False

    def open_settings(self, *args) -> bool:
        """Kivy's settings panel never opens on a kiosk (F1 calls this)."""
        log.info("settings panel refused")
        return False

    def lock_window(self, window) -> None:
        """Refuse the window system's close requests (call once the window exists, e.g. in build)."""
        window.bind(on_request_close=self._refuse_close)

    def _refuse_close(self, *args, **kwargs) -> bool:
        log.info("close request refused: the kiosk ends only from the maintenance screen")
        return True  # True = handled: Kivy keeps the window and the app
