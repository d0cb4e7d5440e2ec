"""The maintenance PIN: PBKDF2-SHA256 format, constant-time verify, lock after failures."""
from __future__ import annotations

from kiosk.screens.pin import LOCK_S, MAX_FAILURES, PinGate, hash_pin, verify_pin


def test_hash_format_and_verify():
    h = hash_pin("2468", iterations=1000)
    algo, iters, salt, digest = h.split("$")
    assert algo == "pbkdf2_sha256" and iters == "1000" and len(bytes.fromhex(salt)) == 16
    assert verify_pin("2468", h) and not verify_pin("2469", h)


def test_malformed_hashes_never_verify():
    for bad in ("", "x", "md5$1$00$00", "pbkdf2_sha256$abc$00$00", "pbkdf2_sha256$1000$zz$00"):
        assert not verify_pin("2468", bad)


def test_gate_locks_after_failures_and_opens_after_lock():
    now = [100.0]
    gate = PinGate(hash_pin("2468", iterations=1000), monotonic=lambda: now[0])
    for _ in range(MAX_FAILURES):
        assert not gate.check("0000")
    assert gate.locked_s() == LOCK_S
    assert not gate.check("2468")          # right PIN refused while locked
    now[0] += LOCK_S
    assert gate.check("2468")


def test_no_configured_hash_never_opens():
    assert not PinGate("").check("")


def test_repeated_lockouts_grow():
    now = [100.0]
    gate = PinGate(hash_pin("2468", iterations=1000), monotonic=lambda: now[0])
    for _ in range(MAX_FAILURES):
        gate.check("0000")
    now[0] += LOCK_S
    assert not gate.check("0000")           # the next wrong PIN after a lockout locks again, longer
    assert gate.locked_s() == 2 * LOCK_S
