"""hall_central.lanes: one bounded lane per terminal, batches taken round robin with a quantum."""
from __future__ import annotations

import threading
import time

from hall_central.lanes import UNKNOWN, Lanes, lane_of


def _m(terminal: str, n: int, size: int = 1) -> tuple[str, bytes]:
    return f"kiosk/v1/{terminal}/req/checkin", bytes([n % 256]) * size


def _until(cond, why: str, bound_s: float = 10.0) -> None:
    """Wait (bounded) for a state the other thread reaches: ``why`` says which."""
    ev = threading.Event()
    deadline = time.monotonic() + bound_s
    while not cond():
        assert time.monotonic() < deadline, f"not reached in {bound_s} s: {why}"
        ev.wait(0.001)


def _who(batch) -> list[tuple[str, int]]:
    return [(lane_of(t), p[0]) for t, p in batch]


def test_the_lane_is_the_topics_terminal_or_unknown():
    assert lane_of("kiosk/v1/ZM-T0001/req/checkin") == "ZM-T0001"
    assert lane_of("kiosk/v1/ZM-T0001/state") == "ZM-T0001"
    for topic in ("kiosk/v1//req/x", "kiosk/v1/", "other/ZM-T0001", "", "kiosk/v2/ZM-T0001/req/x"):
        assert lane_of(topic) == UNKNOWN, topic


def test_a_batch_is_round_robin_with_a_quantum_per_lane():
    q = Lanes(quantum=3)
    for n in range(10):
        q.put(_m("X", n))
    q.put(_m("Y", 0))
    q.put(_m("Z", 0))
    q.put(_m("Z", 1))
    assert _who(q.take(100)) == [("X", 0), ("Y", 0), ("Z", 0), ("X", 1), ("Z", 1), ("X", 2)]
    q.put(_m("Y", 1))
    # X gave its quantum: the next batch starts with it again (no other lane was left unreached).
    assert _who(q.take(100)) == [("X", 3), ("Y", 1), ("X", 4), ("X", 5)]
    assert q.qsize() == 4 and q.depth("X") == 4 and q.depth("Y") == 0


def test_a_full_batch_leaves_the_unreached_lanes_first_in_line():
    q = Lanes(quantum=8)
    for t in ("A", "B", "C", "D"):
        q.put(_m(t, 0))
        q.put(_m(t, 1))
    assert _who(q.take(3)) == [("A", 0), ("B", 0), ("C", 0)]
    assert _who(q.take(3)) == [("D", 0), ("A", 1), ("B", 1)]
    assert _who(q.take(3)) == [("C", 1), ("D", 1)]


def test_a_lane_is_bounded_by_count_and_bytes_and_sheds_only_its_own():
    q = Lanes(max_depth=3, max_bytes=100)
    assert all(q.put(_m("X", n)) for n in range(3))
    assert not q.put(_m("X", 3))
    assert q.put(_m("Y", 0, size=100)) and not q.put(_m("Y", 1))  # 101 bytes would exceed 100
    assert q.shed == {"X": 1, "Y": 1} and q.shed_total() == 2
    q.take(100)
    assert q.put(_m("X", 4)) and q.put(_m("Y", 2, size=100))  # worked off: room again


def test_close_works_off_what_is_queued_then_ends():
    q = Lanes(quantum=2)
    for n in range(3):
        q.put(_m("X", n))
    q.close()
    assert not q.put(_m("X", 9))
    assert len(q.take(100) or []) == 2 and len(q.take(100) or []) == 1
    assert q.take(100) is None


def test_take_waits_for_work():
    q = Lanes()
    got: list = []
    t = threading.Thread(target=lambda: got.append(q.take(10)))
    t.start()
    q.put(_m("X", 1))
    t.join(10)
    assert not t.is_alive() and _who(got[0]) == [("X", 1)]


def test_a_lane_of_big_messages_gives_one_per_batch_small_ones_their_quantum():
    """Eight 240 KB messages of one terminal made every batch (and another terminal's request in
    it) wait for their parse: a lane gives at most QUANTUM_BYTES (and at least one message)."""
    q = Lanes(quantum=8, quantum_bytes=64 * 1024)
    for i in range(4):
        q.put(_m("ZM-BIG", i, 240_000))
    for i in range(10):
        q.put(_m("ZM-SMALL", i, 300))
    assert _who(q.take(100)) == [("ZM-BIG", 0)] + [("ZM-SMALL", i) for i in range(8)]
    assert _who(q.take(100))[0] == ("ZM-BIG", 1)


def test_take_lingers_for_a_fuller_batch_until_fill_arrives():
    """Group commit: with one message queued, take waits for ``fill`` (here all four arrive while
    it lingers; the linger bound is far beyond the test's, so only the fill can end the wait)."""
    q = Lanes()
    q.put(_m("A", 1))
    got: list = []
    t = threading.Thread(target=lambda: got.append(q.take(100, fill=4, linger_s=60.0)))
    t.start()
    _until(lambda: q._waiting, "the taker lingers (one message queued, fill 4)")
    q.put(_m("B", 2))
    q.put(_m("C", 3))
    t.join(0.05)  # why a short join: three queued must not end the linger (it would return at once)
    assert t.is_alive() and not got
    q.put(_m("D", 4))
    t.join(10)
    assert not t.is_alive() and sorted(_who(got[0])) == [("A", 1), ("B", 2), ("C", 3), ("D", 4)]


def test_take_does_not_linger_when_fill_is_queued_or_the_inbox_closes():
    q = Lanes()
    for n in range(4):
        q.put(_m(f"T{n}", n))
    done = threading.Event()
    threading.Thread(target=lambda: (q.take(100, fill=4, linger_s=60.0), done.set())).start()
    assert done.wait(10), "four queued: no linger"
    q.put(_m("A", 1))
    got: list = []
    t = threading.Thread(target=lambda: got.append(q.take(100, fill=4, linger_s=60.0)))
    t.start()
    q.close()
    t.join(10)
    assert not t.is_alive() and _who(got[0]) == [("A", 1)], "closed while lingering: what is queued, at once"


def test_take_lingers_at_most_linger_s():
    q = Lanes()
    q.put(_m("A", 1))
    assert _who(q.take(100, fill=4, linger_s=0.01) or []) == [("A", 1)]
