"""What the touchscreen does when a visit ends: the session's end (card pulled, done, timeout), a
visitor gone idle, and a card left on its reader; a mix-in of :class:`kiosk.screens.kioskapp.KioskApp`.

A notice shown in front of the citizen whose session just ended (their card pulled mid-flow, their
card left on the reader, a queue number that did not print) stays in the language and type size
they were reading in; the terminal's come back when it is left (``KioskApp.go``). The next person
never meets the last one's data: every screen is wiped first, and a card left on the reader is
not read for whoever touches the screen next (the screens ask to lift it and place it again).
"""
from __future__ import annotations

from typing import Any

#: Screens an end-of-session notice stays on in the language and type size its citizen read in:
#: the message (card removed, take your card) and a ticket whose number did not print.
ENDING_SCREENS = ("message", "ticket")


class SessionEnd:
    """Mix in before ``kivy.app.App`` (the app's ``sm``, ``go``, ``services`` and properties)."""

    # The app's (kiosk.screens.kioskapp.KioskApp), named here for the type checker.
    _ending_lang: str
    sm: Any
    services: Any
    go: Any
    wipe_citizen_data: Any
    guard_touches: Any
    pending_flow: str
    pending_then: dict[str, Any]

    def _on_session_ended(self, event) -> None:
        data = event.data or {}
        reason = data.get("reason", "")
        screen = self.sm.current_screen
        # Asked before the wipe: a card pulled in the middle of a flow ends it unfinished, and
        # the citizen is told why the screen changed (not dropped home without a word).
        unfinished = reason == "card_removed" and screen.mid_flow()
        # A ticket whose number did not print stays readable: its citizen was told to note it.
        keep = screen if reason == "card_removed" and screen.outlives_session() else None
        self.wipe_citizen_data(keep=keep)
        self.elder_offer = False
        self.card_left = bool(data.get("card_left"))
        ended_lang = data.get("language") or self.services.sessions.language
        ended_elder = bool(data.get("elder"))
        if reason == "timeout":
            # Nobody touched the screen for the whole timeout: whoever reads this is likely the
            # next visitor, so it is in the terminal's language and standard type.
            self.elder = False
            self.lang = self.services.sessions.language
            self.guard_touches("session timeout")
            # Its card still on the reader: the same "Please take your card" as Done gives (it used
            # to say only that the session ended, and home then invited the next person to place a
            # card on the one lying there). Taken: the notice closes, home (_on_card_left). Never
            # taken: the notice goes home by itself like every end-of-session notice
            # (message.AUTO_HOME_S; a kiosk is never held on a notice), and home keeps saying a
            # card is on the reader instead of inviting one; left long after the timeout, staff
            # are alerted (SessionManager.tick, "session.card_forgotten"). Why not hold the
            # notice until the card goes: whoever stands here next may want the guide or a
            # walk-in number, which need no card, and home tells them of the card just as well.
            self.go("message", kind="take_card" if self.card_left else "timeout")
        elif self.sm.current == "maintenance":
            self.elder = False
            self.lang = self.services.sessions.language
        elif unfinished:
            self._tell_ending("card_removed", ended_lang, ended_elder)
        elif keep is not None:
            # The number stays until "Done" or the idle time (the visit is open from now: a bound
            # on the runtime's clock, SessionManager.tick); its citizen's language and type size.
            self._ending_lang, self.lang, self.elder = ended_lang, ended_lang, ended_elder
            self.services.sessions.touch()
        elif reason == "replaced" and (goes := screen.card_replacing_goes()):
            # A card read over a typed number's session, where that card was asked for (the priority
            # line): its session starts next and continues here. Home would mean check-in: the walk-in
            # was dropped for "your appointments today" (a cold try).
            self.go(goes, reading=True)
        elif self.card_left and reason != "replaced":
            # Done (or an error's way home) with the card still on the reader: the reader will not
            # read it again until it is lifted, so its holder is asked to take it now.
            self._tell_ending("take_card", ended_lang, ended_elder)
        else:
            self.elder = False
            self.lang = self.services.sessions.language
            self.go("home")

    def _tell_ending(self, kind: str, lang: str, elder: bool = False) -> None:
        """The message that ends a session in front of its citizen (a card pulled mid-flow, the card
        left on the reader), in the language and type size they were reading; the terminal's come
        back when it is left (:meth:`go`)."""
        self._ending_lang = self.lang = lang
        self.elder = elder
        self.go("message", kind=kind)

    def _on_language(self, _event) -> None:
        # The visit's language went back to the terminal's (session end, an idle visitor, staff),
        # except under an end-of-session notice, which stays in its reader's language.
        if not (self._ending_lang and self.sm.current in ENDING_SCREENS):
            self.lang = self.services.sessions.language

    def _on_card_left(self, _event) -> None:
        """The card left on a reader was lifted: no more asking for it; the notice asking its
        holder to take it has done its work (home for the next person)."""
        self.card_left = self.services.sessions.card_left
        if (not self.card_left and self.sm.current == "message" and self.sm.current_screen.kind == "take_card"
                and self.services.sessions.citizen is None):
            self.go("home")

    def _on_visit_idle(self, event) -> None:
        """A visitor who never identified left the terminal untouched for the timeout: the next
        person meets home in the terminal's language and standard type, and nothing of the
        visit (a guide page, an unfinished walk-in, an unlocked maintenance screen: staff who
        walk away leave no open staff screen in a public hall)."""
        from kiosk.screens.message import AUTO_HOME_KINDS
        s = self.services.sessions
        if s.citizen is not None:
            return   # a card was placed meanwhile: its session owns the screen
        if self.sm.current == "message" and self.sm.current_screen.kind in AUTO_HOME_KINDS:
            return   # a session's end notice: it goes home by itself
        self.elder, self.elder_offer = s.elder_mode, False
        self.lang = s.language
        self.pending_flow, self.pending_then = "checkin", {}
        self.wipe_citizen_data()
        self.guard_touches("visit idle")
        self.go("home")
