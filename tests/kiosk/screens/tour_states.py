"""States the screen tours of tests/kiosk/screens wait for, in one place (four step modules each
carried their own copy of the first)."""
from __future__ import annotations

from hall_demo.tour import Ctx


def home_no_session(c: Ctx) -> bool:
    """Home, at rest, nobody in session."""
    return (c.app.sm.current == "home" and not c.app.sm.transition.is_active
            and c.app.services.sessions.citizen is None)


def checkin_listed(c: Ctx) -> bool:
    """The check-in list loaded for an identified citizen, at rest."""
    return (c.app.sm.current == "checkin" and not c.app.sm.transition.is_active
            and c.screen.status == "loaded" and c.app.services.sessions.citizen is not None)
