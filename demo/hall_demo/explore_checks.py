"""The explorer's invariants, checked after every step; a breach stops the run (or is recorded).

- no error logged: every log record at ERROR or above (any logger: runtime, UI, Kivy) and every
  exception that escaped a thread;
- a way home on every screen (and, in the explorer's "go home" action, home actually reached);
- no previous citizen's data on any screen or in any live widget once their session ended
  (name, ID number, address, masked or not);
- no zombie child process, no kind of thread piling up;
- once a session ends, the default language and standard mode for the next citizen (and, checked
  by the idle action, after a whole timeout without a touch: home in the default language).
The outbox drain and the retried request are checked where they happen (hall_demo.explore_actions).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from hall_demo.explore_ui import WAYS_HOME

#: How long a child may stay a zombie before it counts (s): its parent reaps it after a wait().
ZOMBIE_GRACE_S = 5.0
#: How long threads of one kind may pile up beyond the steady state (s): a service call in a worker
#: is bounded by the request timeout (5 s in the demo), the catalogue refresh too; a hang guard.
THREAD_GRACE_S = 60.0


@dataclass
class Breach:
    """An invariant that failed: what (``kind``, stable across runs) and the details."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class ErrorRecorder(logging.Handler):
    """Keeps every record at ERROR or above, and every exception that escaped a thread."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []
        self._lock2 = threading.Lock()
        self._old_hook: Callable[[threading.ExceptHookArgs], object] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        exc = record.exc_text or (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        if exc:
            text += " | " + exc.strip().splitlines()[-1]
        with self._lock2:
            self.records.append(text)

    def install(self) -> ErrorRecorder:
        """Listen on the root logger and on threading.excepthook."""
        logging.getLogger().addHandler(self)
        self._old_hook = threading.excepthook

        def hook(args) -> None:
            with self._lock2:
                self.records.append(f"thread {getattr(args.thread, 'name', '?')}: "
                                    f"{args.exc_type.__name__}: {args.exc_value}")
            if self._old_hook is not None:  # set just above
                self._old_hook(args)
        threading.excepthook = hook
        return self

    def uninstall(self) -> None:
        """Stop listening."""
        logging.getLogger().removeHandler(self)
        if self._old_hook is not None:
            threading.excepthook = self._old_hook

    def take(self) -> list[str]:
        """The records since the last call."""
        with self._lock2:
            out, self.records = self.records, []
        return out


def _simulator_thread(t: threading.Thread) -> bool:
    """A thread of the device simulators (the hardware, outside the terminal) or of their
    servers, not of the kiosk: what it runs comes from firmware_bridge or socketserver."""
    target = getattr(t, "_target", None)
    module = getattr(target, "__module__", "") or ""
    return module.startswith(("firmware_bridge", "socketserver", "http.server")) or t.name.startswith("vicc:")


def _thread_kind(name: str) -> str:
    """A thread's name without its numbers (``Thread-12 (serve)`` and ``Thread-40 (serve)`` alike)."""
    return re.sub(r"\d+", "#", name)


class Checks:
    """Runs the invariants; ``citizens`` are the demo citizens' records (hall_central.seed)."""

    def __init__(self, ui, stack, citizens: list[dict]) -> None:
        import psutil
        self.ui = ui
        self.stack = stack
        self.errors = ErrorRecorder().install()
        self.proc = psutil.Process()
        self.citizens = citizens
        self.had_session: set[str] = set()     # ID numbers of citizens who had a session
        self._zombie_since: dict[int, float] = {}
        self._thread_since: dict[str, float] = {}   # thread kind -> since when it piles up
        self.baseline: dict[str, int] = {}
        self._reported: set = set()    # (kind, pid or thread ident): a lasting breach is reported once
        self._ended = False            # a session ended since the last check
        #: ID numbers typed on the keypad since the last session end: the typist's own input on
        #: screen, not a previous citizen's data (until a session ends and the keypad is wiped).
        self.typed: set[str] = set()
        self._unsubs = [stack.runtime.bus.subscribe("session.started", self._on_session),
                        stack.runtime.bus.subscribe("session.ended", self._on_ended)]

    def close(self) -> None:
        """Stop listening."""
        for unsub in self._unsubs:
            unsub()
        self.errors.uninstall()

    def _on_session(self, event) -> None:
        c = self.stack.runtime.services.sessions.citizen
        if c is not None and c.id_number:
            self.had_session.add(c.id_number.upper())

    def _on_ended(self, event) -> None:
        self._ended = True
        self.typed.clear()

    def snapshot_threads(self) -> None:
        """The steady-state threads (per kind): what runs when nothing is going on."""
        self.baseline = {}
        for t in threading.enumerate():
            k = _thread_kind(t.name)
            self.baseline[k] = self.baseline.get(k, 0) + 1

    # -- the checks ----------------------------------------------------------------------------
    def after_step(self, step: int = 0) -> list[Breach]:
        """Every invariant, in order; the breaches found (empty: all hold)."""
        out = [Breach("error-logged", r) for r in self.errors.take()]
        from kivy.base import EventLoop
        if EventLoop.status != "started":
            out.append(Breach("ui-stopped", f"the UI's event loop is {EventLoop.status!r}"))
            return out
        # Every widget's text is cheap; every live widget (a garbage-collector walk) is not: that
        # one after each session end (when a dropped screen could keep a citizen) and every 20 steps.
        deep = self._ended or step % 20 == 0
        ended, self._ended = self._ended, False
        # A device can act on its own after the step settled (a reader that glitches and reads the
        # card again): look at a screen at rest, not in the middle of a slide.
        for _ in range(5):
            look = self.ui.call(lambda: self._look(deep), "the screen's buttons and texts")
            if look["at_rest"]:
                break
            self.ui.settle()
        out += self.way_out(look) + self.citizen_traces(look) + self.zombies() + self.threads()
        if ended:
            out += self.reset_after_session(look)
        return out

    def reset_after_session(self, look: dict) -> list[Breach]:
        """A session ended during this step: the next citizen meets the terminal's default language
        and standard mode (unless a new session began at once)."""
        if look["current"] is not None:
            return []
        default = self.stack.cfg.get("runtime.language")
        out = []
        # A card pulled mid-flow, a card left on the reader, a number that did not print: told in
        # the language and type size its citizen was reading (they stand there); the terminal's
        # come back when that notice is left (kiosk.screens.session_end).
        told = (look["screen"] == "message" and look.get("message_kind") in ("card_removed", "take_card")
                or look["screen"] == "ticket")
        if look["lang"] != default and not told:
            out.append(Breach("language-kept", f"the session ended, the screen stays in {look['lang']!r} "
                                               f"(default {default!r}), screen {look['screen']!r}"))
        if look["elder"] and not told:
            out.append(Breach("elder-kept", f"the session ended, elder mode stays on (screen {look['screen']!r})"))
        return out

    def _look(self, deep: bool) -> dict:
        """One look at the UI (on the main thread): screen, buttons, session, texts."""
        c = self.stack.runtime.services.sessions.citizen
        app = self.ui.app
        return {"screen": app.sm.current, "names": {t.name for t in self.ui._targets()},
                "at_rest": self.ui._at_rest(),
                "lang": app.lang, "elder": bool(app.elder),
                "message_kind": app.sm.current_screen.kind if app.sm.current == "message" else "",
                "current": c, "current_id": (c.id_number or "").upper() if c is not None else "",
                "texts": _all_texts(deep)}

    def way_out(self, look: dict) -> list[Breach]:
        """The current screen is home, or shows one of the ways home."""
        screen, names = look["screen"], look["names"]
        if screen == "home" or names & set(WAYS_HOME):
            return []
        return [Breach("no-way-home", f"screen {screen!r} shows none of {', '.join(WAYS_HOME)} "
                                      f"(buttons: {', '.join(sorted(names)) or 'none'})")]

    def citizen_traces(self, look: dict) -> list[Breach]:
        """No widget (shown or alive) holds the data of a citizen whose session ended."""
        gone = [c for c in self.citizens if c["id_number"] in self.had_session and c["id_number"] != look["current_id"]]
        out = []
        for c in gone:
            for needle in _needles(c, look["current"], self.typed):
                hit = next((t for t in look["texts"] if needle in t), None)
                if hit is not None:
                    out.append(Breach("citizen-data-left", f"{needle!r} (of a citizen whose session ended) "
                                                           f"in a widget: {hit[:80]!r} (screen {look['screen']!r})"))
                    break
        return out

    def zombies(self) -> list[Breach]:
        """No child process stays a zombie for ZOMBIE_GRACE_S (seen at one check, still one at a
        check that much later: a parent reaps within a moment of the exit)."""
        import psutil
        now = time.monotonic()
        seen = {}
        for p in self.proc.children(recursive=True):
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    seen[p.pid] = p.name()
            except psutil.NoSuchProcess:
                continue
        self._zombie_since = {pid: self._zombie_since.get(pid, now) for pid in seen}
        out = [Breach("zombie", f"child {seen[pid]} (pid {pid}) exited and was not reaped within "
                                f"{ZOMBIE_GRACE_S:.0f} s")
               for pid, t0 in sorted(self._zombie_since.items())
               if now - t0 >= ZOMBIE_GRACE_S and ("zombie", pid) not in self._reported]
        self._reported |= {("zombie", pid) for pid, t0 in self._zombie_since.items() if now - t0 >= ZOMBIE_GRACE_S}
        return out

    def threads(self) -> list[Breach]:
        """No kind of thread piles up: two or more beyond the steady state for longer than
        THREAD_GRACE_S. (One extra is work in flight: a service call, a catalogue refresh, a
        printer's recovery that lasts while its paper is out.)"""
        now = time.monotonic()
        counts: dict[str, int] = {}
        for t in threading.enumerate():
            if not _simulator_thread(t):
                k = _thread_kind(t.name)
                counts[k] = counts.get(k, 0) + 1
        piled = {k: n for k, n in counts.items() if n - self.baseline.get(k, 0) >= 2}
        self._thread_since = {k: self._thread_since.get(k, now) for k in piled}
        out = []
        for k, t0 in self._thread_since.items():
            if now - t0 > THREAD_GRACE_S and ("thread", k) not in self._reported:
                self._reported.add(("thread", k))
                out.append(Breach("thread-leak", f"{piled[k]} threads {k!r} alive for over {THREAD_GRACE_S:.0f} s "
                                                 f"(steady state: {self.baseline.get(k, 0)})"))
        self._reported -= {r for r in self._reported if r[0] == "thread" and r[1] not in piled}   # episode over
        return out


def _needles(c: dict, current, typed: AbstractSet[str] = frozenset()) -> list[str]:
    """What would show citizen ``c``: name, ID number, address, and their masked forms (a masked
    form the current citizen shares, such as a common surname's 王*, is left out, and so is an ID
    number just typed on the keypad)."""
    from hall_common import privacy
    own = {n for t in typed for n in (t, privacy.mask_id(t))}
    if current is not None:
        own |= {current.masked_name, current.masked_id}
    out = [c["name"], c["id_number"], privacy.mask_id(c["id_number"]), c.get("address", "")[:10],
           privacy.mask_name(c["name"])]
    return [n for n in out if n and len(n) >= 2 and n not in own]


def _all_texts(deep: bool) -> list[str]:
    """Every text in the window (every screen, shown or not); ``deep``: and in any other live
    widget (a screen dropped but kept alive by a stray reference)."""
    from kivy.app import App

    from hall_demo.tour import live_widget_texts
    app = App.get_running_app()
    out = []
    for root in [app.root] + list(app.sm.screens):
        for w in root.walk():
            t = getattr(w, "text", None)
            if isinstance(t, str) and t:
                out.append(t)
    return out + (live_widget_texts() if deep else [])
