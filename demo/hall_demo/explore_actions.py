"""What the explorer does, one step at a time: a citizen's taps, the devices, the network, time.

Each action is chosen with the run's seeded RNG from what the settled screen offers, acts through
the same paths as the tour (a tap on the window's input path; the device simulators' wire; the
broker process; the runtime's clock), waits for its own effect with a bound and a reason, and
returns the line the step list records. Actions that check what must be true where it happens
(the outbox drains once the broker is back; a request that failed succeeds when retried with valid
input; home is reachable) return the breach they found.

The probes are short scripted walks the explorer starts at random moments (and after the broker
comes back, for every request that failed meanwhile): look up an application's progress, take a
walk-in number, book a slot as the keypad citizen (a slot they have not booked, or on purpose one
they have: the conflict must not spoil the next booking).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable

from hall_demo.explore_checks import Breach
from hall_demo.explore_ui import WAYS_HOME, UiTimeout
from hall_demo.explore_world import World, keypad_bookings

#: Never tapped: it ends the app (only staff do, from the maintenance screen).
NEVER_TAP = {"exit_app"}
#: The top bar's buttons (tour ids).
TOP_BAR = {"lang", "elder", "help", "call_staff"}
#: The demo staff PIN (hall_demo.tour_steps.DEMO_PIN) and a wrong one.
PINS = ("2468", "1357")
#: Bounds on a device or network effect (s): hang guards on a loaded machine, never speed checks.
DEVICE_WAIT_S = 45.0
#: A hang guard on the network's recovery after the broker is back (the terminal's link retries from
#: 0.1 s, the central service's front every 2 s at most: hall_central.front.RECONNECT_MAX_S), with
#: room for a machine at load average 30.
NETWORK_WAIT_S = 60.0
#: How many taps "go home" may need (a message over a flow over a message...).
HOME_TAPS = 8
#: The demo citizen who types their ID number (no card), as in the tour.
KEYPAD_CITIZEN = 2


class Actions:
    """The action menu; ``ctx`` (hall_demo.explore.Explorer) gives ui, sim, stack, codes, rng."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.world = World()
        self._scanned: dict[str, float] = {}
        # What each reader last reported: a card on it (presented / inserted) or gone (removed).
        # Why: a card taken off and placed again before the reader's next poll (50 ms; longer on a
        # starved machine) was never gone for the reader, and no hand is that quick; after taking
        # a card off, the explorer waits until the reader says so (card()).
        self.on_reader = {"idcard": False, "smartcard": False}
        bus = ctx.stack.runtime.bus
        for topic, role, there in (("idcard.presented", "idcard", True), ("idcard.removed", "idcard", False),
                                   ("smartcard.inserted", "smartcard", True), ("smartcard.removed", "smartcard", False)):
            bus.subscribe(topic, lambda e, role=role, there=there: self.on_reader.__setitem__(role, there))
        # (weight, name, method): weights say how a citizen and a hall behave, roughly.
        self.menu: list[tuple[int, str, Callable]] = [
            (40, "tap", self.tap), (8, "type", self.type_valid), (5, "scroll", self.scroll), (6, "card", self.card),
            (3, "smartcard", self.smartcard), (7, "scan", self.scan), (3, "paper", self.paper),
            (3, "broker", self.broker), (3, "lang", self.lang), (3, "elder", self.elder),
            (4, "idle", self.idle), (1, "maintenance", self.maintenance), (3, "home", self.go_home),
            (4, "probe", self.probe),
        ]

    @property
    def ui(self):
        return self.ctx.ui

    @property
    def rng(self) -> random.Random:
        return self.ctx.rng

    @property
    def sim(self):
        return self.ctx.sim

    def choose(self) -> tuple[str, Callable]:
        """One action, drawn with the run's RNG."""
        weights = [w for w, _, _ in self.menu]
        _, name, fn = self.rng.choices(self.menu, weights)[0]
        return name, fn

    # -- a citizen's fingers ---------------------------------------------------------------------
    def tap(self) -> str:
        """A tap on any visible button or key (the top bar's four less often than the screen's:
        a citizen mostly works on the screen, and the bar's help and staff call lead to messages)."""
        targets = [t for t in self.ui.targets() if t.name not in NEVER_TAP]
        if not targets:
            return "tap: nothing to tap"
        weights = [1 if t.name in TOP_BAR else 4 for t in targets]
        t = self.rng.choices(targets, weights)[0]
        screen = self.ui.screen()
        self.ui.tap(t)
        return f"tap {t.name} on {screen}"

    def type_valid(self) -> str:
        """Type something that makes sense on a visible keypad (an ID number, an application
        number, a phone number, a PIN), right or wrong on purpose."""
        names = {t.name for t in self.ui.targets()}
        if "key_1" not in names:
            return self.tap()
        from hall_central.seed import demo_citizens
        screen = self.ui.screen()
        r = self.rng.random()
        if screen == "identify":
            who = self.rng.randrange(3)
            text = demo_citizens()[who]["id_number"] if r < 0.8 else "41012219810512246" + "7"
            what = f"ID number of citizen {who}" if r < 0.8 else "an ID number with a wrong check digit"
            self.ctx.checks.typed.add(text)
        elif screen == "progress":
            k = self.rng.randrange(4)
            text, what = self.sim.application_no(k)[2:], f"application number {k}"
        elif screen == "maintenance":
            text = PINS[0] if r < 0.7 else PINS[1]
            what = "the staff PIN" if r < 0.7 else "a wrong PIN"
        else:
            text, what = "13812345678", "a phone number"
        self._type(text)
        return f"type {what} on {screen}"

    def scroll(self) -> str:
        """A finger drags a list that holds more than it shows, up or down."""
        areas = self.ui.scroll_areas()
        if not areas:
            return self.tap()
        a = self.rng.choice(areas)
        dy = self.rng.choice((-1, 1)) * self.rng.choice((120, 300))
        screen = self.ui.screen()
        before, after = self.ui.swipe(a, dy)
        return f"swipe {a.name} {'up' if dy > 0 else 'down'} {abs(dy)} px on {screen} (scroll_y {before} -> {after})"

    def lang(self) -> str:
        """中文 / English in the top bar."""
        return "tap lang" if self.ui.tap_id("lang") else "lang: not shown"

    def elder(self) -> str:
        """Elder mode on/off in the top bar."""
        return "tap elder" if self.ui.tap_id("elder") else "elder: not shown"

    def maintenance(self) -> str:
        """Five taps in the top-left corner (the staff's way in)."""
        from hall_demo import touch
        h = self.ui.call(lambda: self.ctx.app.root.height, "the window height")
        # All five in one frame's input: taps a frame apart could outlast the 3 s window on a slow machine.
        self.ui.call(lambda: [touch.tap_at(8, h - 8) for _ in range(5)], "five corner taps")
        self.ui.frames(1)
        return "five taps in the top-left corner"

    # -- the devices ---------------------------------------------------------------------------
    def _session_source(self):
        return self.ui.call(lambda: getattr(self.ctx.services.sessions.citizen, "source", None), "the session")

    def _session_of(self, source: str) -> str:
        """The ID number of the session's citizen when the session came from ``source``, else ""."""
        c = self.ctx.services.sessions.citizen
        return (c.id_number or "") if c is not None and c.source == source else ""

    def card(self) -> str | Breach:
        """An ID card placed (a random demo citizen) or taken off."""
        if self.world.card is None:
            who = self.rng.randrange(3)
            self.sim.place_card(who)
            self.world.card = who
            from hall_central.seed import demo_citizens
            want = demo_citizens()[who]["id_number"]
            # The ID card's own session, not just this citizen's: with their smart card in its
            # reader, a smart-card session of the same number was there before the ID card was
            # read, and the read (a second or so later) replaced it during the next step (seed 6
            # step 285: an idle step's timeout jump, then a fresh ID-card session: "no-timeout").
            try:
                self.ui.wait_until(lambda: self._session_of("idcard") == want,
                                   DEVICE_WAIT_S, f"an ID-card session of citizen {who} after the card was placed")
            except UiTimeout as e:
                return Breach("card-not-read", str(e))
            return f"place ID card of citizen {who}"
        self.sim.remove_card()
        self.world.card = None
        gone = self._reader_cleared("idcard")
        if gone:
            return gone
        if self._session_source() == "idcard":
            try:
                self.ui.wait_until(lambda: getattr(self.ctx.services.sessions.citizen, "source", None) != "idcard",
                                   DEVICE_WAIT_S, "the session to end after the card was taken")
            except UiTimeout as e:
                return Breach("card-removal-ignored", str(e))
        return "take the ID card off"

    def smartcard(self) -> str | Breach:
        """A social security card inserted or pulled."""
        if self.world.smartcard is None:
            who = self.rng.randrange(3)
            self.sim.insert_smartcard(who)
            self.world.smartcard = who
            from hall_central.seed import demo_citizens
            want = demo_citizens()[who]["id_number"]
            try:
                self.ui.wait_until(lambda: self._session_of("smartcard") == want, DEVICE_WAIT_S,
                                   f"a smart-card session of citizen {who}")
            except UiTimeout as e:
                return Breach("smartcard-not-read", str(e))
            return f"insert smart card of citizen {who}"
        self.sim.remove_smartcard()
        self.world.smartcard = None
        gone = self._reader_cleared("smartcard")
        if gone:
            return gone
        if self._session_source() == "smartcard":
            try:
                self.ui.wait_until(lambda: self._session_source() != "smartcard", DEVICE_WAIT_S,
                                   "the session to end after the smart card was pulled")
            except UiTimeout as e:
                return Breach("smartcard-removal-ignored", str(e))
        return "pull the smart card"

    def _reader_cleared(self, role: str) -> Breach | None:
        """Wait until the reader has reported the card taken off (if it had reported it there)."""
        try:
            self.ui.wait_until(lambda: not self.on_reader[role], DEVICE_WAIT_S, f"the {role} reader to report the card gone")
        except UiTimeout as e:
            return Breach(f"{role}-removal-unseen", str(e))
        return None

    def scan(self) -> str | Breach:
        """A code held to the scanner: valid, forged, foreign, expired or garbage."""
        import time
        kind, text = self.ctx.codes.make(self.rng)
        scanner = self.ctx.stack.runtime.devices.get("scanner")
        if scanner is not None and time.monotonic() - self._scanned.get(text, -1e9) < 5.0:
            scanner.forget()   # the same code twice within its dedupe window counts once: make it a new scan
        before = self._scan_events()
        try:
            self.sim.scan(text)
        except (ValueError, UnicodeError, OSError) as e:
            return f"scan {kind}: the scanner could not send it ({type(e).__name__})"
        self._scanned[text] = time.monotonic()
        try:
            self.ui.wait_until(lambda: self._scan_events() > before, DEVICE_WAIT_S, f"the scanner to report a {kind} code")
        except UiTimeout as e:
            return Breach("scan-lost", f"{e} ({text[:40]!r})")
        return f"scan {kind} code {text[:32]!r}"

    def _scan_events(self) -> int:
        s = self.ctx.stack.runtime.devices.get("scanner")
        return (s.scans + s.errors) if s is not None else 0

    def paper(self) -> str:
        """The printer runs out of paper, or gets paper."""
        self.world.paper_out = not self.world.paper_out
        self.sim.set_paper_out(self.world.paper_out)
        return "paper out" if self.world.paper_out else "paper back"

    # -- network and time ----------------------------------------------------------------------
    def broker(self) -> str | Breach:
        """Stop the broker, or start it again and check that the outbox drains."""
        gw = self.ctx.stack.runtime.gateway
        if self.world.online:
            self.sim.set_online(False)
            self.world.online = False
            try:
                self.ui.wait_until(lambda: not gw.online, NETWORK_WAIT_S, "the terminal to notice the broker stopped")
            except UiTimeout as e:
                return Breach("offline-unnoticed", str(e))
            return "stop the broker"
        self.sim.set_online(True)
        self.world.online = True
        breach = self.drained()
        if breach:
            return breach
        return "start the broker (back online, outbox drained)" + self.retry_failed()

    def drained(self) -> Breach | None:
        """Online again and the outbox empty (the central service answered every row)."""
        gw = self.ctx.stack.runtime.gateway
        try:
            self.ui.wait_until(lambda: gw.online, NETWORK_WAIT_S, "the terminal to reconnect")
        except UiTimeout as e:
            return Breach("no-reconnect", str(e))
        try:
            self.ui.wait_until(lambda: gw.outbox_depth() == 0, NETWORK_WAIT_S, "the outbox to drain")
        except UiTimeout:
            return Breach("outbox-not-drained", f"{gw.outbox_depth()} rows still in the outbox "
                                                f"{NETWORK_WAIT_S:.0f} s after the broker came back")
        # An empty outbox proves nothing about the central service (nothing had to drain): a round
        # trip does. Seed 42 retried a lookup the moment the terminal was online and met
        # network.timeout, the central service still waiting out a 16 s reconnect backoff.
        deadline = time.monotonic() + NETWORK_WAIT_S
        while not self.ctx.services.guide.refresh():   # one catalogue.sync; False while unanswered
            if time.monotonic() > deadline:
                return Breach("central-unreachable", f"no answer from the central service {NETWORK_WAIT_S:.0f} s "
                                                     "after the broker came back and the terminal was online")
        return None

    def idle(self) -> str | Breach:
        """Nobody touches the terminal past the session timeout (the runtime's timers jump)."""
        sessions = self.ctx.services.sessions
        active = self.ui.call(lambda: sessions.citizen is not None, "the session")
        jump = self.ui.call(sessions.effective_timeout_s, "the timeout") + self.rng.choice((1, 9, 30))
        self.sim.advance(jump, wall=False)
        app = self.ctx.app
        default = self.ctx.stack.cfg.get("runtime.language")
        # Nobody touched the terminal for a whole timeout: the next person must meet home (or the
        # timeout notice of a session that ended) in the terminal's language and standard type,
        # whatever the last one did, identified or not (the guide in English, elder mode, the
        # staff screen). The runtime's tick (every 0.5 s, its own thread) does it: waited for.
        screens = ("home", "message") if active else ("home",)

        def state():
            return app.sm.current, app.lang, bool(app.elder), sessions.citizen is None

        def reset() -> bool:
            screen, lang, elder, ended = state()
            return ended and screen in screens and lang == default and not elder
        try:
            self.ui.wait_until(reset, DEVICE_WAIT_S, "the terminal to be taken back after the timeout")
        except UiTimeout:
            screen, lang, elder, ended = self.ui.call(state, "the screen")
            if not ended:
                return Breach("no-timeout", f"a session still open {jump:.0f} s after the last touch")
            return Breach("idle-not-reset", f"after {jump:.0f} s without a touch: screen {screen!r}, "
                                            f"language {lang!r}, elder mode {'on' if elder else 'off'}")
        self.ui.settle()
        return f"idle {jump:.0f} s" + (" (session timed out)" if active else "")

    # -- home ----------------------------------------------------------------------------------
    def go_home(self) -> str | Breach:
        """Tap the ways home until the home screen shows; a breach when it takes more than HOME_TAPS."""
        path: list[str] = []
        for _ in range(HOME_TAPS):
            self.ui.settle()
            screen = self.ui.screen()
            if screen == "home":
                return "go home" + (f" via {' > '.join(path)}" if path else "")
            names = {t.name for t in self.ui.targets()}
            way = next((w for w in WAYS_HOME if w in names), None)
            if way is None:
                return Breach("home-unreachable", f"no way home on {screen!r} after {' > '.join(path) or 'nothing'}")
            self.ui.tap_id(way)
            path.append(f"{way} on {screen}")
        return Breach("home-unreachable", f"not home after {HOME_TAPS} taps: {' > '.join(path)}")

    # -- probes: a request with valid input, and its retry -----------------------------------------
    def probe(self) -> str | Breach:
        """A scripted request from home: progress, walk-in or booking."""
        kind = self.rng.choice(("progress", "walkin", "book"))
        return self.run_probe(kind)

    def retry_failed(self) -> str:
        """Retry every probe that failed while offline; the first failure is returned by step()."""
        if not self.world.retries:
            return ""
        kinds = list(dict.fromkeys(self.world.retries))
        self.world.retries.clear()
        self.ctx.pending_retries.extend(kinds)
        return f"; retries queued: {', '.join(kinds)}"

    def run_probe(self, kind: str, *, retry: bool = False) -> str | Breach:
        """Run probe ``kind``; failed with the network down: queued for a retry; failed when it had
        to succeed (online, valid input, or a retry): a breach."""
        home = self.go_home()
        if isinstance(home, Breach):
            return home
        ok, detail = getattr(self, f"_probe_{kind}")(retry)
        label = f"{'retry' if retry else 'probe'} {kind}: {detail}"
        self.go_home()
        if ok:
            return label
        if detail.startswith("expected"):     # a refusal the probe asked for (a conflict)
            self.world.retries.append(kind)
            self.ctx.pending_retries.extend(self.world.retries)
            self.world.retries.clear()
            return label
        if not self.world.online or "network." in detail:
            self.world.retries.append(kind)
            return label + " (queued for a retry once online)"
        return Breach("retry-failed" if retry else "request-failed", label)

    def _screen_msg(self) -> tuple[str, str]:
        return self.ui.call(lambda: (self.ctx.app.sm.current, getattr(self.ctx.app.sm.current_screen, "code", "")),
                            "the screen")

    def _outcome(self, want: Callable[[], bool], what: str) -> tuple[bool, str]:
        self.ui.settle()
        if self.ui.call(want, what):
            return True, what
        screen, code = self._screen_msg()
        return False, f"{screen} {code}".strip()

    def _type(self, text: str) -> None:
        """Tap the keypad's keys for ``text`` (the keys stay where they are while typing)."""
        from hall_demo import touch
        self.ui.wait_for_touch_guard()   # as a tap does
        keys = {t.name: t for t in self.ui.targets()}
        seq = [keys[f"key_{ch}"] for ch in text if f"key_{ch}" in keys]
        # One frame's input, in order (as a quick finger): a frame per key is slow on a loaded machine.
        self.ui.call(lambda: [touch.tap_at(t.x, t.y) for t in seq], "typing")
        self.ui.frames(1)

    def _probe_progress(self, retry: bool) -> tuple[bool, str]:
        k = self.rng.randrange(4)
        if not self.ui.tap_id("tile_progress"):
            return False, "no progress tile"
        self.ui.settle()
        number = self.sim.application_no(k)[2:]
        self._type(number)
        app = self.ctx.app

        def entry() -> tuple[str, str, object]:
            scr = app.sm.current_screen
            return scr.name, getattr(scr, "status", ""), getattr(scr.ids.get("keypad"), "value", None)
        screen, status, held = self.ui.call(entry, "the number typed")
        # Seed 42 once ended here with no more than "progress" (the lookup button stays disabled
        # until all 18 digits are in): say what the entry holds. (An identified citizen's own list
        # may show instead of the entry: then there is nothing to type into.)
        if screen == "progress" and status == "entry" and held != number:
            return False, f"typed {len(number)} digits, the entry holds {held!r}"
        self.ui.tap_id("lookup")
        return self._outcome(lambda: app.sm.current == "progress" and app.sm.current_screen.status == "shown",
                             f"application {k} shown")

    def _probe_walkin(self, retry: bool) -> tuple[bool, str]:
        if not self.ui.tap_id("tile_walkin"):
            return False, "no walk-in tile"
        self.ui.settle()
        if not self.ui.tap_id("line_0"):
            return False, "no walk-in line"
        app = self.ctx.app
        return self._outcome(lambda: app.sm.current == "ticket" and bool(app.sm.current_screen.queue_no),
                             "a walk-in number")

    def _probe_book(self, retry: bool) -> tuple[bool, str]:
        """Book as the keypad citizen: a free (item, day) must succeed; a booked one is refused
        as a conflict (on purpose, sometimes, never on a retry)."""
        from hall_central.seed import demo_citizens
        if self._session_source() is not None:
            return True, "skipped: a card session is active on the home screen"
        booked = keypad_bookings(self.ctx.stack.run_dir / "central.db", demo_citizens()[KEYPAD_CITIZEN]["id_number"])
        app = self.ctx.app
        items = self.ui.call(lambda: [it["code"] for it in self.ctx.services.guide.items(category=None)], "items")
        days = self.ui.call(lambda: [d.isoformat() for d in self.ctx.services.booking.days(10)], "days")
        if not self.ui.tap_id("tile_book"):
            return False, "no booking tile"
        self.ui.settle()
        # The items the list shows without scrolling (a citizen picks what they see).
        shown = sorted(int(t.name.split("_")[1]) for t in self.ui.targets() if t.name.startswith("bitem_"))
        combos = [(i, j) for i in shown if i < len(items) for j in range(len(days))]
        # A day with any booking of the citizen is not free: the probe takes the day's first free
        # slot, and one citizen holds one booking per time (another item then is a time clash).
        booked_days = {d for _, d in booked}
        free = [(i, j) for i, j in combos if days[j] not in booked_days]
        taken = [(i, j) for i, j in combos if (items[i], days[j]) in booked]
        conflict = bool(taken) and not retry and self.rng.random() < 0.4
        if not (taken if conflict else free):
            return True, "nothing left to book"
        i, j = self.rng.choice(taken if conflict else free)
        tapped = "tile_book"
        for tid in (f"bitem_{i}", f"day_{j}"):
            self.ui.settle()
            target = self.ui.find(tid)
            if target is None:
                # Where the last tap went and what the screen offers: seed 3 step 1821 (elder mode)
                # tapped an item and stayed on the list, with nothing more to go on.
                offered = sorted(t.name for t in self.ui.targets())
                return False, f"no {tid} on {self.ui.screen()} after {tapped}; offered: {', '.join(offered)[:300]}"
            self.ui.tap(target)
            tapped = f"{tid} at ({target.x:.0f}, {target.y:.0f})"
        self.ui.settle()
        slot = next((t.name for t in self.ui.targets() if t.name.startswith("slot_")), None)
        if slot is None:
            return True, f"item {i} day {j}: no free slot"
        self.ui.tap_id(slot)
        self.ui.settle()
        if self.ui.screen() == "identify":
            self.ctx.checks.typed.add(demo_citizens()[KEYPAD_CITIZEN]["id_number"])
            self._type(demo_citizens()[KEYPAD_CITIZEN]["id_number"])
            self.ui.tap_id("id_ok")
            self.ui.settle()
        if not self.ui.tap_id("confirm_book"):
            return False, f"no confirm button on {self.ui.screen()}"
        ok, detail = self._outcome(lambda: app.sm.current == "book_done", f"item {i} day {j} booked")
        if conflict:
            if not ok and "rejected.conflict" in detail:
                return False, f"expected refusal: item {i} day {j} already booked ({detail})"
            return False, f"item {i} day {j} already booked, yet: {detail}"
        return ok, detail
