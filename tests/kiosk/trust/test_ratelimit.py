"""The maintenance-PIN limiter: 5 failures lock 30 s, then each failure doubles, success resets."""
from __future__ import annotations

from kiosk.trust.ratelimit import PinLimiter


def test_five_failures_then_doubling_lockouts_capped():
    lim = PinLimiter()
    t = 0.0
    assert [lim.failure(t) for _ in range(4)] == [0, 0, 0, 0]
    assert lim.failure(t) == 30
    assert not lim.allowed(t + 29.9) and lim.locked_for_s(t + 10) == 20
    assert lim.failure(t + 10) == 20  # a try during the lockout changes nothing
    t += 30
    assert lim.allowed(t)
    assert lim.failure(t) == 60       # after a lockout every failure locks, doubling
    t += 60
    assert lim.failure(t) == 120
    for _ in range(10):
        t += lim.locked_for_s(t)
        last = lim.failure(t)
    assert last == 3600


def test_success_resets():
    lim = PinLimiter()
    for _ in range(5):
        lim.failure(0)
    lim.success()
    assert lim.allowed(0) and [lim.failure(1) for _ in range(4)] == [0, 0, 0, 0]
