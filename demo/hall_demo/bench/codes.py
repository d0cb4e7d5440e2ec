"""Signed codes: how long the terminal takes to accept a valid code and to refuse a forged one.

A check-in code as the central service signs it (hall_central.keys) is verified by the terminal's
own path (kiosk.trust.codes.verify_any, the scan gate's verifier) against an installed key set.
The baseline is one bare Ed25519 signature check of the same bytes (the cryptography library),
measured in the same run. Forged codes are the mutations of hall_demo.code_mutations (bit flips,
truncation, bad Base45, bytes added or cut, a flipped payload byte): the p99 of their refusals
shows that no forgery costs more than a genuine code (a forger cannot slow the scanner down),
and the decompression bomb shows the inflation guard at work.
"""
from __future__ import annotations

import functools
import random
import tempfile
import time
import zlib

from hall_central.keys import CentralKeys
from hall_demo.bench.report import Figure, percentile, time_calls_ms
from hall_demo.code_mutations import bomb, mutations, same_signed_content
from kiosk.trust import codes
from kiosk.trust.keys import TrustStore
from kiosk.trust.payload import TOKEN_PREFIX, b45decode

HALL, REGIONS = "H410122203", ("410100", "410122")


def _refuse(text: str, keyset, now: float) -> None:
    try:
        codes.verify_any(text, keyset, codes.scan_audiences(HALL, REGIONS), now)
    except codes.CodeRejected:
        return
    raise AssertionError("a mutated code was accepted")


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the code figures."""
    reps, forged_n = (300, 600) if quick else (3000, 6000)
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-codes-") as tmp:
        central = CentralKeys(f"{tmp}/keys", now_s=now)
        store = TrustStore(f"{tmp}/terminal", central.root_public)
        store.install_keyset(central.keyset())
        keyset = store.keyset
        text = central.sign_code({"apt": "AP0123456789ABCDEF"}, aud=HALL, exp_s=int(now) + 3600, now_s=int(now))
        raw_text = b45decode(text[len(TOKEN_PREFIX):])
        assert raw_text is not None and keyset is not None  # a code just signed, a key set just installed
        blob = zlib.decompress(raw_text)
        sig, payload = blob[:codes.SIG_BYTES], blob[codes.SIG_BYTES:]
        pub = keyset.key(central.meta["code_kid"], "code", now)
        audiences = codes.scan_audiences(HALL, REGIONS)
        verify = time_calls_ms(lambda: codes.verify_any(text, keyset, audiences, now), reps)
        raw = time_calls_ms(lambda: pub.verify(sig, codes.CONTEXT + payload), reps)
        forged = [m for m in mutations(text, random.Random(8), forged_n)
                  if m != text and not same_signed_content(m, text)]
        refuse: list[float] = []
        for m in forged:
            refuse += time_calls_ms(functools.partial(_refuse, m, keyset, now), 1)
        big = bomb()
        bomb_ms = time_calls_ms(lambda: _refuse(big, keyset, now), max(20, reps // 50))
    med = lambda xs: percentile(xs, 0.5)  # noqa: E731
    return {
        "codes.verify_ms": Figure("codes.verify_ms", med(verify), "ms", "bare Ed25519 verify", med(raw),
                                  note=f"median of {reps} full verifications of a valid check-in code "
                                       "(Base45, inflate, JSON, key set, signature, type, audience, time)"),
        "codes.ed25519_ms": Figure("codes.ed25519_ms", med(raw), "ms",
                                   note=f"median of {reps} bare signature checks of the same bytes"),
        "codes.verify_p99_ms": Figure("codes.verify_p99_ms", percentile(verify, 0.99), "ms",
                                      note=f"p99 of the {reps} verifications of the valid code"),
        "codes.reject_p99_ms": Figure("codes.reject_p99_ms", percentile(refuse, 0.99), "ms", "codes.verify_p99_ms",
                                      percentile(verify, 0.99),
                                      note=f"p99 of {len(refuse)} refusals of mutated codes (a forgery that "
                                           f"reaches the signature check costs one verification); "
                                           f"median {med(refuse):.4f} ms"),
        "codes.bomb_ms": Figure("codes.bomb_ms", med(bomb_ms), "ms",
                                note="median refusal of a code that would inflate to 600 KB (stops at "
                                     f"{codes.MAX_INFLATED_BYTES} bytes)"),
    }
