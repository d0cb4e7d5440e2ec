"""The KioskApp: observable state the .kv files bind to, navigation, and the bus bridge.

Imported by :func:`kiosk.screens.app.run_app` only after Kivy's environment and window size are
set (importing Kivy's Window creates the window). Bus events arrive on device/network threads;
every handler here is wrapped so it runs on Kivy's main thread (kivy#7859), and frequent status
updates are coalesced with a Clock trigger.

Screens live only as long as a session needs them: home and message are built before the first
frame and stay; every other screen module is built the first time a screen of it is shown
(:meth:`KioskApp.go`) and removed again once the session has ended and the kiosk is back on home
or message (:meth:`KioskApp.drop_session_screens`). Why: each built screen keeps its label
textures (Mesa's software GL keeps every texture in process memory) and its widgets; with all
19 screens built the kiosk carried about 32 MiB of textures between citizens. A dropped screen
also keeps no trace of the last citizen at all.
"""
from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk import roles
from kiosk.screens import async_call, kvrules, memory, registry, speech, theme
from kiosk.screens.i18n import Translator
from kiosk.screens.lockdown import LockedApp
from kiosk.screens.session_end import ENDING_SCREENS, SessionEnd
from kiosk.screens.touchguard import TouchGuard
from kiosk.services import scans

#: Built before the first frame and kept for the whole run: what a citizen sees first, and the
#: screen every error and timeout goes to. Every other screen module (kiosk.screens.registry: each
#: has ``SCREENS = {name: class}`` and a .kv twin, loaded once) is built when one of its screens is
#: first shown (30-60 ms; all 11 took ~0.4 s before the first frame) and dropped after the session.
FIRST_SCREEN_MODULES = ("home", "message")
#: Bus prefixes whose events only refresh status (coalesced: many events, one redraw).
STATUS_PREFIXES = ("network", *(role.state_event for role in roles.ROLES))
#: Why 5 taps in 3 s: a citizen never does it by chance; staff learn it in a minute.
MAINT_TAPS, MAINT_WINDOW_S, MAINT_CORNER_PX = 5, 3.0, 90


log = logging.getLogger("kiosk.screens.app")

HERE = Path(__file__).parent


class KioskApp(LockedApp, SessionEnd, App):
    """The touchscreen: observable state the .kv files bind to, and the navigation."""

    lang = StringProperty("zh_CN")
    k = NumericProperty(1.0)
    elder = BooleanProperty(False)
    #: Large type is offered to this session's citizen (elder_age or more), not switched on.
    elder_offer = BooleanProperty(False)
    online = BooleanProperty(True)
    busy = BooleanProperty(False)
    countdown = NumericProperty(-1)
    clock_text = StringProperty("")
    hall_text = StringProperty("")
    terminal_text = StringProperty("")
    citizen_text = StringProperty("")
    announcement = StringProperty("")
    #: A citizen's card is still on its reader with nobody in session (SessionManager.card_left).
    card_left = BooleanProperty(False)

    def __init__(self, services, settings, *, driver=None, font_files=None, **kw) -> None:
        super().__init__(**kw)
        self.title = "Kiosk"
        self.services = services        # kiosk.services.facade.Services: all a screen may call
        self.settings = settings        # kiosk.services.facade.UiSettings
        self.font_files = font_files or {}
        self.translator = Translator()
        self.speaker = speech.Speaker(enabled=settings.speech)
        self.driver = driver  # run_app(driver=...): the demo's tour or the explorer, never a terminal's
        self.driver_runner = None
        self.ui_error = ""
        #: The language of an end-of-session message on screen ("" when none is shown).
        self._ending_lang = ""
        self.sm: Any = None  # Kivy's ScreenManager (untyped), set in build()
        self._unsubs: list = []
        self._maint_taps: list[float] = []
        self._kv_loaded: set[str] = set()  # screen modules whose .kv rules are loaded (once per run)
        self._module_of: dict[str, str] = {}  # screen name -> its module (filled on first look-up)
        self._resident: set[str] = set()  # names of the screens of FIRST_SCREEN_MODULES
        # A drop is due from a session's end until it ran: a new session's first screen runs it
        # first (go), so a quick next citizen never inherits the last one's screens.
        self._drop_due = False
        self.pending_flow = "checkin"
        #: What the pending flow's screen is handed once its citizen is identified (start_flow's
        #: ``then``: the walk-in's line whose ticket the card was asked for), used once.
        self.pending_then: dict[str, Any] = {}
        #: Swallows the touches that land just after the screen changed by itself (a timeout).
        self.touch_guard = TouchGuard()

    # -- translation ---------------------------------------------------------------------------
    def tr(self, msgid: str, lang: str | None = None) -> str:
        """Translate ``msgid`` (kv passes ``app.lang`` so the text rebinds on a switch)."""
        return self.translator.tr(msgid, lang or self.lang)

    # -- build ---------------------------------------------------------------------------------
    def build(self):
        """Load the kv files, build the screens, bridge the bus and start the timers."""
        info = self.services.info
        self.lang = self.services.sessions.language
        self.hall_text, self.terminal_text = info.names(self.lang)
        self._update_k()
        Window.clearcolor = theme.BG
        kvrules.install()  # before the first rule is applied (kiosk.screens.kvrules says why)
        Builder.load_file(str(HERE / "widgets.kv"))
        root = Builder.load_file(str(HERE / "app.kv"))
        self.sm = root.ids.sm
        for mod_name in FIRST_SCREEN_MODULES:
            self._build_module(mod_name)
        self._resident = set(self.sm.screen_names)
        self.sm.current = "home"
        self._drop_trigger = Clock.create_trigger(self.drop_session_screens, 0)
        # After the first frame: give back what start-up freed (font preparation, kv parsing).
        Clock.schedule_once(lambda dt: Clock.schedule_once(lambda dt2: memory.release_freed_memory(), 0), 0)
        self._bridge()
        self._status_trigger = Clock.create_trigger(self._refresh_status, 0.3)
        self._refresh_status()
        Clock.schedule_interval(self._tick, 0.5)
        self._tick(0)
        self.services.heartbeat.attach()  # the systemd watchdog is now fed only while this loop ticks
        Window.bind(on_touch_down=self._on_window_touch, size=lambda *a: self._update_k())
        self.lock_window(Window)  # no close on request, no settings panel (kiosk.screens.lockdown)
        async_call.BUSY.listeners.append(lambda n: setattr(self, "busy", n > 0))
        if self.driver is not None:
            self.driver_runner = self.driver(self)
            Clock.schedule_once(lambda dt: self.driver_runner.start(), 0.3)
        return root

    def _build_module(self, mod_name: str) -> None:
        """Add the screens of one module that are not built (its .kv is loaded the first time)."""
        mod = importlib.import_module(f"kiosk.screens.{mod_name}")
        if mod_name not in self._kv_loaded:  # loading a .kv twice would apply its rules twice
            kv = HERE / f"{mod_name}.kv"
            if kv.exists():
                Builder.load_file(str(kv))
            self._kv_loaded.add(mod_name)
        for name, cls in mod.SCREENS.items():
            if not self.sm.has_screen(name):
                self.sm.add_widget(cls(name=name))

    def _ensure_screen(self, name: str) -> bool:
        """Build the module of screen ``name`` unless it is built; False if no module has it."""
        if self.sm.has_screen(name):
            return True
        if not self._module_of:
            self._module_of = registry.screen_modules()  # imports only: no widget is made here
        module = self._module_of.get(name)
        if module is None:
            return False
        started = time.perf_counter()
        self._build_module(module)
        log.debug("screen module built", extra={"screen_module": module, "ms": round((time.perf_counter() - started) * 1000)})
        return self.sm.has_screen(name)

    def drop_session_screens(self, *_) -> int:
        """Remove every built screen but home and message, once the kiosk idles on one of them;
        then collect the garbage, delete the GL textures and return the freed heap to the system.

        Called after each session's wipe and when home is shown outside a session. Deferred while
        a transition slides (the outgoing screen is still drawn); skipped when the kiosk is
        elsewhere (a new session already started, or maintenance): the next session end drops
        them. Returns how many screens were removed."""
        sm = self.sm
        if sm is None:
            return 0
        if sm.transition.is_active:
            Clock.schedule_once(self.drop_session_screens, max(sm.transition.duration, 0.05))
            return 0
        dropped = 0
        if sm.current in self._resident:
            self._drop_due = False
            for screen in list(sm.screens):
                if screen.name not in self._resident:
                    sm.remove_widget(screen)
                    dropped += 1
            # The transition keeps the last screens it slid (screen_out): that alone kept a
            # dropped screen, its widgets and textures alive. It refuses None; the next
            # transition sets both again.
            for attr in ("screen_out", "screen_in"):
                held = getattr(sm.transition, attr)
                if held is not None and held.name not in self._resident:
                    setattr(sm.transition, attr, sm.current_screen)
        memory.release_freed_memory(gl=True)
        return dropped

    def _update_k(self) -> None:
        self.k = theme.scale(Window.width, Window.height, self.elder)

    def on_elder(self, *_) -> None:
        """Elder mode changed: scale all type and targets."""
        self._update_k()

    def on_lang(self, *_) -> None:
        """The hall's and terminal's names, and every screen that builds texts in Python."""
        self.hall_text, self.terminal_text = self.services.info.names(self.lang)
        if self.sm is not None:
            for s in self.sm.screens:
                s.on_lang()

    # -- bus bridge: every handler runs on the main thread ---------------------------------------
    def _on_main(self, handler):
        return lambda event: Clock.schedule_once(lambda dt: self._safe(handler, event))

    def _safe(self, handler, event) -> None:
        try:
            handler(event)
        except Exception as e:  # a failing handler must show a friendly screen, not kill the UI
            log.exception("UI event handler failed", extra={"topic": event.topic})
            self.show_error(e)

    def _bridge(self) -> None:
        bus = self.services.bus
        sub = lambda prefix, h: self._unsubs.append(bus.subscribe(prefix, self._on_main(h)))  # noqa: E731
        sub("session.started", self._on_session_started)
        sub("session.ended", self._on_session_ended)
        sub("session.idle", self._on_visit_idle)
        sub("session.card_left", self._on_card_left)
        # The visit's language went back to the terminal's (session end, an idle visitor, staff).
        sub("session.language", self._on_language)
        for role in roles.ROLES:  # a card being read (idcard, smartcard); a code (scanner, camera)
            if role.presented_event:
                sub(role.presented_event, self._on_card_presented)
            if role.reads == "code":
                sub(role.read_event, self._on_scan)
        sub("ui.announcement", lambda e: setattr(self, "announcement", str((e.data or {}).get("text", ""))))
        sub("printer.error", lambda e: self._status_trigger())
        for prefix in STATUS_PREFIXES:
            self._unsubs.append(bus.subscribe(prefix, lambda e: Clock.schedule_once(lambda dt: self._status_trigger())))

    def close_bridge(self) -> None:
        """Unsubscribe from the bus (the app stopped)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.speaker.stop()

    def _refresh_status(self, *_) -> None:
        self.online = self.services.online

    def _card_screen(self) -> str:
        """The screen a card placed now is read for: a visitor's message (help, a code not
        understood, the card-removed notice...) stands for the home or identify screen under it,
        whose text says to place the card (a card placed there started a session that the
        message ignored, and its 首页 then ended it)."""
        cur = self.sm.current
        if cur == "message" and self.sm.current_screen.back in ("home", "identify"):
            return self.sm.current_screen.back
        if cur == "ticket" and self._ending_lang:
            return "home"   # a ticket kept after its session (its number did not print) stands for home
        return cur

    def _on_card_presented(self, event) -> None:
        # A message in a citizen's session (an error) is theirs: a card placed there is no new visit.
        cur = self._card_screen() if self.services.sessions.citizen is None else self.sm.current
        if cur == "home":
            self.pending_flow, self.pending_then = "checkin", {}  # a card on the home screen means check-in
        if cur in ("home", "identify"):
            self.go("identify", reading=True)

    def _on_session_started(self, event) -> None:
        s = self.services.sessions
        self.card_left = False
        self.elder = s.elder_mode
        self.elder_offer = bool(getattr(s, "senior", False)) and not s.elder_mode
        self.lang = s.language
        c = s.citizen
        self.citizen_text = (c.masked_name or c.masked_id) if c else ""  # a typed number has no name
        cur = self._card_screen()
        if cur == "identify":
            then, self.pending_then = self.pending_then, {}
            self.go(self.pending_flow or "checkin", **then)
        elif cur == "home":  # a card placed on the home screen: the commonest purpose
            self.go("checkin")
        elif self.sm.current == "book_slot" and self.pending_flow == "book_confirm":
            self.go("book_confirm")
        else:  # a card placed on a flow's own screen (progress): that screen uses the identity
            on_identified = getattr(self.sm.current_screen, "on_identified", None)
            if on_identified is not None:
                on_identified()

    def _on_scan(self, event) -> None:
        """A code from the scanner or the camera, read by the services (kiosk.services.scans): the
        screen's own handler, else the router (which explains a code it does not understand)."""
        scan = self.services.scans.read(event.data)
        screen = self.sm.get_screen(self.sm.current)
        handler = getattr(screen, "on_scan", None)
        if handler is not None:
            handler(scan)
        elif self.busy or self.sm.current == "maintenance":
            # A service call is running (its answer navigates) or staff are at work: not now.
            log.info("scanned code not used now", extra={"kind": scan.kind, "screen": self.sm.current})
        else:
            self.handle_code(scan)

    def handle_code(self, scan) -> None:
        """Route a scanned code (a kiosk.services.scans.Scan): a booking slip checks in, a receipt
        or a progress slip shows progress, a queue ticket is explained, anything else is explained
        as not understood."""
        if scan.leads_to == scans.APPLICATION:
            self.go("progress", application_no=scan.value, receipt=scan.receipt)
        elif scan.leads_to == scans.APPOINTMENT:
            self.go("checkin_code", code=scan.value)
        elif scan.leads_to == scans.PROGRESS_SLIP:
            self.go("progress", application_no=scan.value)  # this kiosk's progress slip: view only
        elif scan.leads_to == scans.QUEUE_TICKET:
            self.go("message", kind="queue_ticket", back=self._back_target())
        else:
            log.info("scanned code not used", extra={"kind": scan.kind, "why": scan.why})
            self.go("message", kind="unknown_code", back=self._back_target())

    def wipe_citizen_data(self, keep=None) -> None:
        """Clear every widget and screen that held citizen data, forget the visit's open requests
        (the next citizen gets new idempotency keys); drop the session's screens. ``keep``: a
        screen that outlives the session (:meth:`KioskScreen.outlives_session`), left as it is."""
        self.citizen_text = ""
        self.services.end_visit()
        for s in self.sm.screens:
            if s is not keep:
                s.wipe()
        # On the next frame: the caller has navigated home (or to the timeout message) by then.
        self._drop_due = True
        self._drop_trigger()

    # -- periodic ------------------------------------------------------------------------------
    def _tick(self, dt) -> None:
        self.services.heartbeat.beat()
        now = self.services.clock.now()
        self.clock_text = now.strftime("%m-%d %H:%M")   # no year: it kept the terminal's name off the header
        s = self.services.sessions
        self.countdown = int(s.remaining_s() + 0.999) if s.countdown_visible() else -1

    def guard_touches(self, why: str) -> None:
        """The screen is about to change by itself (``why``: a timeout, not the citizen's tap):
        touch-downs are swallowed until it has been in place for touchguard.GUARD_S."""
        sm = self.sm
        self.touch_guard.arm(why, settle_s=sm.transition.duration if sm is not None else 0.0)

    def _on_window_touch(self, window, touch) -> bool | None:
        # The staff's corner taps count even under the touch guard: they hit no widget, and staff
        # who tap them as a visit times out would otherwise start again.
        if touch.x < MAINT_CORNER_PX * self.k and touch.y > window.height - MAINT_CORNER_PX * self.k:
            now = time.monotonic()
            self._maint_taps = [t for t in self._maint_taps if now - t < MAINT_WINDOW_S] + [now]
            if len(self._maint_taps) >= MAINT_TAPS:
                self._maint_taps.clear()
                self.go("maintenance")
        if self.touch_guard.swallows():
            # a tap meant for the screen that just went away (kiosk.screens.touchguard)
            log.info("touch swallowed after the screen changed by itself", extra={"why": self.touch_guard.why})
            return True
        self.services.sessions.touch()
        return None   # the touch goes on to the widgets

    # -- navigation and actions ----------------------------------------------------------------
    def go(self, name: str, **kw) -> None:
        """Show screen ``name``, passing ``kw`` to its ``prepare`` method."""
        if self._ending_lang and name not in ENDING_SCREENS:
            # the end-of-session notice is left: the terminal's language and the visit's type size
            self._ending_lang = ""
            self.lang = self.services.sessions.language
            self.elder = self.services.sessions.elder_mode
        if self._drop_due and name not in self._resident and self.sm.current in self._resident:
            # The last session's screens are still built (its drop waits for the next frame or
            # for the slide home to end): drop them now, before this session builds its own.
            self.sm.transition.stop()
            self.drop_session_screens()
        if not self._ensure_screen(name):
            log.warning("no such screen", extra={"screen": name})
            name, kw = "message", {"kind": "unavailable"}
        screen = self.sm.get_screen(name)
        prepare = getattr(screen, "prepare", None)
        if prepare is not None:
            prepare(**kw)
        self.sm.current = name
        if name == "home" and len(self.sm.screens) > len(self._resident) and self.services.sessions.citizen is None:
            self._drop_due = True
            self._drop_trigger()  # back home outside a session (maintenance, guide): drop those screens too
        prompt = getattr(screen, "spoken_prompt", "")
        if self.elder and prompt:
            self.say(prompt)

    def start_flow(self, flow: str, *, needs_identity: bool = True, then: dict | None = None,
                   card_for: int = 0) -> None:
        """Start a citizen flow; ask for identification first when the flow needs it. ``then``: what
        the flow's screen is handed once the citizen is identified (the walk-in: ``take``, the line
        to issue at once). ``card_for``: the flow needs a card's proof of this age (the priority
        line): identification by card only (no keypad), even over a typed number's session."""
        self.after_identify(flow, **(then or {}))
        if needs_identity and (self.services.sessions.citizen is None or card_for):
            self.go("identify", purpose=flow, card_for=card_for)
        else:
            self.go(flow)

    def after_identify(self, flow: str, **then) -> None:
        """The flow (and what its screen is handed) that the next identification continues."""
        self.pending_flow, self.pending_then = flow, then

    def home(self) -> None:
        """Back to the home screen (ends the session: the citizen is done)."""
        self.pending_flow, self.pending_then = "checkin", {}
        if self.services.sessions.citizen is not None:
            self.services.sessions.end()
        else:
            self.wipe_citizen_data()
            self.go("home")

    def toggle_language(self) -> None:
        """中文 <-> English for this visit."""
        self.services.sessions.set_language("en" if self.lang == "zh_CN" else "zh_CN")
        self.lang = self.services.sessions.language

    def use_default_language(self) -> None:
        """The terminal's own language (config ``runtime.language``): the staff's maintenance screen,
        whatever the last citizen chose."""
        self.services.sessions.reset_language()
        self.lang = self.services.sessions.language

    def toggle_elder(self) -> None:
        """Elder mode on/off (the header's switch; it also answers the offer)."""
        self.accept_elder(not self.elder)

    def accept_elder(self, on: bool) -> None:
        """Large type on or off, as the citizen chose (the offer, or the header's switch)."""
        self.elder_offer = False
        self.services.sessions.set_elder_mode(on)
        self.elder = self.services.sessions.elder_mode
        if self.elder:
            self.say("Elder mode is on. Text is larger and you have more time.")

    def show_help(self) -> None:
        """The help screen for the current screen."""
        self.go("message", kind="help", back=self._back_target())

    def call_staff(self) -> None:
        """Alert the hall's staff; tell the citizen someone is coming."""
        screen = self.sm.current
        async_call.run_async(self.services.staff.call, screen, "citizen_request", name="kiosk-staff-call",
                             on_error=lambda e: log.warning("staff call not sent", extra={"error": type(e).__name__}))
        self.go("message", kind="staff_called", back=self._back_target())

    def _back_target(self) -> str:
        cur = self.sm.current
        return "home" if cur in ("message", "home") else cur

    def show_error(self, exc: BaseException, back: str = "home", retry=None) -> None:
        """A friendly error screen for ``exc`` (never a traceback); ``retry`` sends the failed
        request again, offered when the error allows it (kiosk.screens.message.RETRYABLE)."""
        self.go("message", kind="error", error=exc, back=back, retry=retry)

    def say(self, msgid: str) -> None:
        """Speak a prompt in elder mode (non-blocking; only where espeak-ng is installed)."""
        if self.elder:
            self.speaker.say(self.tr(msgid), self.lang)

    def on_stop(self) -> None:
        """Kivy is closing."""
        self.close_bridge()
