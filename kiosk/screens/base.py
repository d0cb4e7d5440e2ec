"""The base of every screen: access to the app and services, and the wipe at session end."""
from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    """A screen; subclasses override ``wipe`` to drop every citizen value they show or hold."""

    #: Whether this screen shows or holds citizen data (then it is left when the session ends).
    holds_citizen_data = False

    @property
    def app(self):
        """The running KioskApp."""
        return App.get_running_app()

    @property
    def services(self):
        """The terminal's services facade."""
        return self.app.services

    def tr(self, msgid: str) -> str:
        """Translate into the session's language."""
        return self.app.tr(msgid)

    def mid_flow(self) -> bool:
        """Whether a citizen is in the middle of something here: a card pulled now ends it
        unfinished, and the kiosk says so. Screens that show a finished result say False."""
        return self.holds_citizen_data

    def outlives_session(self) -> bool:
        """Whether what this screen shows must stay after its session ended by a card pulled (it
        holds no citizen data then): a queue number the citizen was told to note. Else False."""
        return False

    def card_replacing_goes(self) -> str:
        """The screen to show when a card read here replaces the session (a typed number's: the
        line asked for a card), so that the card's new session continues the flow; "" for home,
        where a card means check-in. Only screens that hold no citizen data may name one."""
        return ""

    def loc(self, entry):
        """A central-service answer (names of items and offices) in the session's language; screens
        keep the answer as it came and call this when they draw, so a language switch redraws."""
        return self.services.guide.localized(entry, self.app.lang)

    def wipe(self) -> None:
        """Forget citizen data (called on the main thread at every session end)."""

    def on_lang(self) -> None:
        """The language changed: refresh texts built in Python (kv texts rebind by themselves)."""
