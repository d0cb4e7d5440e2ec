"""Maintenance (staff): opened by 5 taps in the top-left corner within 3 s, then the PIN.

Shows every device's state and error, the network, the outbox depth, its dead letters and disk
alarms, the terminal's identity and version; runs a self-test and a test print; the only way to exit the app. No citizen data here.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.async_call import run_async
from kiosk.screens.base import KioskScreen
from kiosk.screens.i18n import N_

#: The device roles (kiosk.roles) as staff call them. The report is in the terminal's language
#: (zh_CN by default): "printer: error printer.paper_out staff: load..." was English on it.
ROLE_NAMES = {"idcard": N_("ID-card reader"), "smartcard": N_("Smart-card reader"), "scanner": N_("QR scanner"),
              "camera": N_("Camera"), "printer": N_("Ticket printer")}
#: A driver's state (kiosk.devices.base.DeviceState values).
STATE_NAMES = {"closed": N_("stopped"), "connecting": N_("connecting"), "ready": N_("ready"),
               "busy": N_("busy"), "error": N_("fault")}
#: What to do about a device error, by its code (the drivers' own ``action`` is English, for the
#: logs and `kiosk doctor`): the codes a driver raises, then the general ones.
ERROR_ACTIONS = {
    "printer.paper_out": N_("out of paper: load a new roll and close the cover"),
    "printer.cover_open": N_("cover open: close the printer cover firmly"),
    "printer.offline": N_("printer in error: check its panel lights, clear any jam, press FEED once"),
    "printer.fault": N_("cannot print: check the printer, its cable or network"),
    "idcard.sam": N_("the reader's security module refuses to work: call the reader's supplier"),
    "idcard.read": N_("a card could not be read: ask the citizen to place it again and keep it still"),
    "idcard.read_failed": N_("a card could not be read: ask the citizen to place it again and keep it still"),
    "idcard.pulled_mid_read": N_("a card was taken away while it was read: ask the citizen to place it again"),
    "smartcard.removed": N_("a card was taken out while it was read: ask the citizen to insert it again"),
    "smartcard.service": N_("the smart-card service is not running: wait, or start pcscd"),
    "smartcard.no_reader": N_("no reader of the configured name: check its cable and devices.smartcard.url"),
    "camera": N_("check the camera's cable and its URL; it reconnects by itself"),
    "device.unavailable": N_("not reachable: check its cable and power; it reconnects by itself"),
    "device.timeout": N_("no answer in time: check its cable and power"),
}
#: For a code not listed above.
OTHER_ERROR = N_("see the log for this code")

#: What the status above the PIN's keypad says (the room of the longest is kept from the start).
NO_PIN = N_("No maintenance PIN is configured (ui.maintenance_pin_hash).")
LOCKED = N_("Too many wrong PINs: locked for {s} s.")
WRONG_PIN = N_("Wrong PIN.")
EMPTY_PIN = N_("Type the staff PIN first.")
#: How often the lock's remaining seconds are looked at while it is shown (s).
LOCK_TICK_S = 0.25


def device_line(role: str, health: dict, tr) -> str:
    """One device's line of the report, in ``tr``'s language: its name, its state and, when it
    has an error, the error's code (for the log and the supplier) and what to do."""
    name = tr(ROLE_NAMES[role]) if role in ROLE_NAMES else role
    state = str(health.get("state") or "")
    # the join is the message's own (Chinese writes a full-width colon: the layout rules)
    line = tr(N_("{device}: {state}")).format(device=name, state=tr(STATE_NAMES[state]) if state in STATE_NAMES else state)
    code = str((health.get("error") or {}).get("code") or "")
    if code:
        family = code if code in ERROR_ACTIONS else code.split(".")[0]
        line += f" ({code}) " + tr(ERROR_ACTIONS.get(family, OTHER_ERROR))
    return line


class MaintenanceScreen(KioskScreen):
    """PIN entry, then the health view."""

    unlocked = BooleanProperty(False)
    status = StringProperty("")
    status_ok = BooleanProperty(False)   # the status reports a success (green), not a fault (red)
    report = StringProperty("")
    #: Whole seconds left of the PIN's lock-out (0: open); the keypad is off while it is not 0.
    lock_left = NumericProperty(0)
    #: How the status is worded in the language of the moment (None: no status). Why a function:
    #: a status set as a text stayed in the language it was said in ("密码错误次数过多，已锁定 40 秒。"
    #: on an English screen) and the lock's seconds never moved.
    _words: Callable[[], str] | None = None
    _lock_ev = None

    def prepare(self, **_) -> None:
        """Back to the PIN entry, in the terminal's language (staff, not the last citizen); a
        lock-out still running is told at once, with its time."""
        self.app.use_default_language()
        self.unlocked, self.report = False, ""
        self._say(None)
        self.ids.keypad.clear()
        self._lock_tick()

    @property
    def gate(self):
        """The PIN check and its lock-out: the runtime's (kiosk.services.staff_pin), never this
        screen's own, so leaving the screen (which drops it) and coming back keeps the lock."""
        return self.services.staff_pin

    def longest_status(self, _lang: str = "") -> str:
        """The longest status the PIN's entry may show, in the language of the moment (the status
        label keeps its room: a status appearing pushed the keypad 35 px down under the finger).
        ``_lang``: for kv, to be evaluated again on a language switch."""
        return max((self.tr(NO_PIN), self.tr(LOCKED).format(s=8888), self.tr(WRONG_PIN), self.tr(EMPTY_PIN)), key=len)

    def submit_pin(self) -> None:
        """Check the typed PIN (rate-limited). Nothing typed is not a try (it is not counted); the
        try that starts a lock-out says so at once, with its time."""
        pin = self.ids.keypad.value
        self.ids.keypad.clear()
        if not self.gate.stored_hash:
            self._say(lambda: self.tr(NO_PIN))
        elif self.gate.locked_s() > 0:
            self._lock_tick()
        elif not pin:
            self._say(lambda: self.tr(EMPTY_PIN))
        elif self.gate.check(pin):
            self._say(None)
            self.unlocked = True
            self.refresh()
        elif self.gate.locked_s() > 0:
            self._lock_tick()
        else:
            self._say(lambda: self.tr(WRONG_PIN))

    def _lock_text(self) -> str:
        return self.tr(LOCKED).format(s=self.lock_left)

    def _lock_tick(self, *_) -> bool:
        """The lock's seconds, counted down while shown: the status says them and the keypad is
        off; when the lock is over, the status goes and the keypad is on again."""
        left = self.gate.locked_s()
        self.lock_left = math.ceil(left) if left > 0 else 0
        if self.lock_left:
            self._say(self._lock_text)
            if self._lock_ev is None:
                self._lock_ev = Clock.schedule_interval(self._lock_tick, LOCK_TICK_S)
            return True
        if self._words == self._lock_text:
            self._say(None)
        self._stop_lock_tick()
        return False

    def _stop_lock_tick(self) -> None:
        if self._lock_ev is not None:
            self._lock_ev.cancel()
            self._lock_ev = None

    def on_leave(self, *_) -> None:
        self._stop_lock_tick()   # looked at again when the screen is opened (prepare)

    def refresh(self) -> None:
        """Redraw the health report."""
        h = self.services.health()
        info = self.services.info
        hall, name = info.names(self.app.lang)
        state = self.tr("online") if h.get("online") else self.tr("offline")
        lines = [self.tr("Terminal: {id}  {name}").format(id=info.terminal_id, name=name),
                 self.tr("Hall: {hall} ({code})").format(hall=hall, code=info.hall_code),
                 self.tr("Version: {v}").format(v=info.version),
                 self.tr("Network: {state}").format(state=state),
                 self.tr("Outbox depth: {n}").format(n=h.get("outbox_depth")),
                 # texts a citizen would read in Chinese in an English session (catalogue data gaps)
                 self.tr("Catalogue texts without English: {n}").format(n=len(self.services.guide.cache.english_gaps()))]
        if h.get("dead_letters"):
            lines.append(self.tr("Dead letters (answers this terminal could not read: tell the operators): {n}")
                         .format(n=h["dead_letters"]))
            lines += [f"  {d['op']} {d['id'][:12]} {d.get('last_error') or ''}"[:160]
                      for d in h.get("recent_dead_letters", [])]
        lines += [self.tr("Outbox alarm: {reason} -> {action}").format(reason=a["reason"], action=a.get("action", ""))
                  for a in h.get("outbox_alarms", [])]
        if h.get("refused_subscriptions"):
            lines.append(self.tr("The broker refused this terminal's topics (add it to the broker's ACL): {topics}")
                         .format(topics=", ".join(h["refused_subscriptions"])))
        if h.get("card_forgotten_s") is not None:
            # a citizen's card left on a reader long after its session (presence only: kept for its holder)
            lines.append(self.tr("A citizen's card has been left on the reader for {m} min: keep it for its holder.")
                         .format(m=h["card_forgotten_s"] // 60))
        lines += [device_line(role, d, self.tr) for role, d in sorted(h.get("devices", {}).items())]
        self.report = "\n".join(lines)

    def on_lang(self) -> None:
        if self.unlocked:
            self.refresh()
        if self._words is not None:
            self.status = self._words()

    def self_test(self) -> None:
        """Health of every part, as a short verdict: the devices are asked now (in a worker: a
        printer's status answer may take its timeout), not judged by their last state."""
        def verdict(bad: list[str]) -> None:
            self.refresh()
            self._say(lambda: self.tr("Self-test: all devices ready.") if not bad else
                      self.tr("Self-test: not ready: {roles}").format(
                          roles=", ".join(self.tr(ROLE_NAMES[r]) if r in ROLE_NAMES else r for r in bad)), ok=not bad)
        run_async(self.services.maintenance.self_test, on_done=verdict,
                  on_error=lambda e: self._say(lambda: self.tr("Self-test: not ready: {roles}").format(
                      roles=getattr(e, "code", type(e).__name__))), name="kiosk-ui-selftest")

    def test_print(self) -> None:
        """Print the test page (in a worker: the printer may be slow)."""
        maintenance = self.services.maintenance
        if not maintenance.has_printer:
            self._say(lambda: self.tr("No printer configured."))
            return
        run_async(maintenance.test_print, on_done=lambda r: self._say(lambda: self.tr("Test page printed."), ok=True),
                  on_error=lambda e: self._say(lambda: self.tr("Test print failed: {code}").format(
                      code=getattr(e, "code", type(e).__name__))), name="kiosk-ui-testprint")

    def _say(self, words: Callable[[], str] | None, ok: bool = False) -> None:
        """Show the status ``words()`` (worded again on a language switch); None: no status."""
        self._words = words
        self.status, self.status_ok = (words() if words is not None else ""), ok

    def leave(self) -> None:
        """Back to the citizen's home screen."""
        self.unlocked = False
        self.app.go("home")

    def exit_app(self) -> None:
        """Stop the touchscreen (only from here)."""
        self.app.stop()

    def health_json(self) -> str:
        """The raw health (for copying into a ticket to the technician)."""
        return json.dumps(self.services.health(), ensure_ascii=False)


SCREENS = {"maintenance": MaintenanceScreen}
