"""hall_demo.explore_actions without the stack: a card step waits for the read it caused.

The devices and the UI are stand-ins: a reader's read lands a moment after the card is placed
(between two of the explorer's looks), as on the real stack.
"""
from __future__ import annotations

from types import SimpleNamespace

from hall_central.seed import demo_citizens
from hall_demo.explore_actions import Actions
from kiosk.services.session import Citizen


class FakeUi:
    """Runs every look at once; what a device does (``later``) lands only after one more look:
    the reader takes a moment to read a card."""

    def __init__(self) -> None:
        self.later: list = []
        self._due: list = []
        self._depth = 0

    def call(self, fn, what: str = ""):
        if self._depth:            # a look within a look runs at once (Ui.call on the main thread)
            return fn()
        for act in self._due:      # queued before the previous look: read by now
            act()
        self._due, self.later = self.later, []
        self._depth += 1
        try:
            return fn()
        finally:
            self._depth -= 1

    def wait_until(self, pred, timeout_s: float, what: str):
        for _ in range(50):
            value = self.call(pred, what)
            if value:
                return value
        raise AssertionError(f"never: {what}")


class FakeSim:
    """Cards on the readers: each read begins a session (as SessionManager does on the bus)."""

    def __init__(self, ui: FakeUi, sessions) -> None:
        self.ui, self.sessions = ui, sessions

    def _read(self, who: int, source: str) -> None:
        c = demo_citizens()[who]
        self.ui.later.append(lambda: setattr(self.sessions, "citizen",
                                             Citizen(id_number=c["id_number"], name=c["name"], source=source)))

    def place_card(self, who: int) -> None:
        self._read(who, "idcard")

    def insert_smartcard(self, who: int) -> None:
        self._read(who, "smartcard")


class FixedRng:
    """Picks citizen ``who`` wherever the explorer draws one."""

    def __init__(self, who: int) -> None:
        self.who = who

    def randrange(self, n: int) -> int:
        return self.who


def _actions(who: int):
    ui = FakeUi()
    sessions = SimpleNamespace(citizen=None)
    bus = SimpleNamespace(subscribe=lambda topic, fn: (lambda: None))
    ctx = SimpleNamespace(ui=ui, rng=FixedRng(who), services=SimpleNamespace(sessions=sessions),
                          stack=SimpleNamespace(runtime=SimpleNamespace(bus=bus)))
    ctx.sim = FakeSim(ui, sessions)
    return Actions(ctx), sessions


def test_an_id_card_step_waits_for_the_id_cards_own_session():
    """Seed 6 step 285: the citizen's smart card was in its reader (a smart-card session of the
    same ID number); placing their ID card counted as read at once, its read landed during the
    next step (an idle jump past the timeout) and opened a fresh session: "no-timeout"."""
    actions, sessions = _actions(2)
    c = demo_citizens()[2]
    sessions.citizen = Citizen(id_number=c["id_number"], name=c["name"], source="smartcard")
    actions.world.smartcard = 2
    assert actions.card() == "place ID card of citizen 2"
    assert sessions.citizen.source == "idcard"


def test_a_smart_card_step_waits_for_its_own_citizen():
    actions, sessions = _actions(1)
    c = demo_citizens()[0]
    sessions.citizen = Citizen(id_number=c["id_number"], name=c["name"], source="smartcard")
    assert actions.smartcard() == "insert smart card of citizen 1"
    assert sessions.citizen.id_number == demo_citizens()[1]["id_number"]
