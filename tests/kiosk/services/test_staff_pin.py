"""The maintenance PIN: PBKDF2-SHA256 format, constant-time verify, lock after failures; the lock
held by the runtime's service (not the screen) and kept in the state directory across restarts."""
from __future__ import annotations

import datetime as dt
import json

from kiosk.clock import FakeClock
from kiosk.pin import hash_pin, verify_pin
from kiosk.services.staff_pin import LOCK_S, MAX_FAILURES, STATE_FILE, PinGate

PIN_HASH = hash_pin("2468", iterations=1000)


def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=FakeClock().tz))


def test_hash_format_and_verify():
    h = hash_pin("2468", iterations=1000)
    algo, iters, salt, digest = h.split("$")
    assert algo == "pbkdf2_sha256" and iters == "1000" and len(bytes.fromhex(salt)) == 16
    assert verify_pin("2468", h) and not verify_pin("2469", h)


def test_malformed_hashes_never_verify():
    for bad in ("", "x", "md5$1$00$00", "pbkdf2_sha256$abc$00$00", "pbkdf2_sha256$1000$zz$00",
                # a cold try: these raised OverflowError, or would take hours on the touchscreen's thread
                "pbkdf2_sha256$999999999999$00$00", "pbkdf2_sha256$2000000000$" + "00" * 16 + "$" + "0" * 64):
        assert not verify_pin("2468", bad)


def test_gate_locks_after_failures_and_opens_after_lock():
    c = clock()
    gate = PinGate(PIN_HASH, c)
    for _ in range(MAX_FAILURES):
        assert not gate.check("0000")
    assert gate.locked_s() == LOCK_S
    assert not gate.check("2468")          # right PIN refused while locked
    c.advance(LOCK_S)
    assert gate.check("2468")


def test_no_configured_hash_never_opens():
    assert not PinGate("").check("")


def test_repeated_lockouts_grow():
    c = clock()
    gate = PinGate(PIN_HASH, c)
    for _ in range(MAX_FAILURES):
        gate.check("0000")
    c.advance(LOCK_S)
    assert not gate.check("0000")           # the next wrong PIN after a lockout locks again, longer
    assert gate.locked_s() == 2 * LOCK_S


def test_a_restart_keeps_the_lock_and_the_count(tmp_path):
    c = clock()
    gate = PinGate(PIN_HASH, c, tmp_path)
    for _ in range(MAX_FAILURES):
        gate.check("0000")
    c.advance(20)
    saved = json.loads((tmp_path / STATE_FILE).read_text(encoding="utf-8"))
    assert set(saved) == {"failures", "locks", "locked_until"}    # counts and a time: never a PIN
    again = PinGate(PIN_HASH, c, tmp_path)                     # the kiosk restarted
    assert again.locked_s() == LOCK_S - 20
    assert not again.check("2468")
    c.advance(LOCK_S)
    assert not again.check("0000") and again.locked_s() == 2 * LOCK_S   # its lockouts counted on
    c.advance(2 * LOCK_S)
    assert again.check("2468")
    assert PinGate(PIN_HASH, c, tmp_path).locked_s() == 0       # a success is kept too


def test_a_lock_read_back_never_exceeds_the_longest_lock(tmp_path):
    c = clock()
    (tmp_path / STATE_FILE).write_text(json.dumps({"failures": 0, "locks": 1,
                                                   "locked_until": c.now().timestamp() + 10 * 86400}))
    gate = PinGate(PIN_HASH, c, tmp_path)
    assert gate.locked_s() == gate.limiter.max_lock_s


def test_an_unreadable_state_file_starts_afresh(tmp_path):
    (tmp_path / STATE_FILE).write_text("{not json")
    assert PinGate(PIN_HASH, clock(), tmp_path).check("2468")

