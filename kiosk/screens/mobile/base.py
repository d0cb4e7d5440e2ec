"""What every staff screen shares: the screen base class and the items shown first."""
from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

#: Items shown first on the item screen: the ones staff take door to door most (seed showcase).
FIRST_ITEMS = ("LL001", "GJ001", "WJ001", "CL001", "MZ005", "RS003")


class MobileScreen(Screen):
    """A staff screen with access to the app and the mobile service."""

    @property
    def app(self):
        """The running MobileApp."""
        return App.get_running_app()

    def prepare(self, **kw) -> None:
        """Called before the screen is shown."""

    def wipe(self) -> None:
        """Forget citizen data."""
