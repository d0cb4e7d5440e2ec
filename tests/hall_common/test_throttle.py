"""hall_common.throttle: once per interval per key, the calls in between counted."""
from __future__ import annotations

import threading

from hall_common.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_due_once_per_interval_per_key_and_the_skipped_are_counted():
    clock = FakeClock()
    th = Throttle(60.0, clock)
    assert th.check("a") == (True, 0)  # the first is due at once
    assert [th.check("a") for _ in range(3)] == [(False, 0)] * 3
    assert th.due("b")  # another key has its own interval
    clock.t += 59.9
    assert not th.due("a")
    clock.t += 0.1
    assert th.check("a") == (True, 4)  # 3 + 1 skipped since the last due one
    assert th.check("a") == (False, 0)
    clock.t += 60
    assert th.check("a") == (True, 1)


def test_many_threads_get_one_due_call():
    th = Throttle(60.0)
    got: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        due = th.due()
        with lock:
            got.append(due)
    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(got) == [False] * 15 + [True]
