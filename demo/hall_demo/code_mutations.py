"""Mutations of a signed ``KQ1:`` code, for the tests and the benchmark of kiosk.trust.codes.

What a forger or a damaged print produces: a bit flipped in the compressed bytes, the text cut
short, a character replaced, characters outside Base45 or impossible triples, bytes added or
removed after compression, a bit flipped inside the signed payload (re-compressed). Deterministic
for a given ``random.Random``.
"""
from __future__ import annotations

import random
import zlib
from collections.abc import Iterator

from kiosk.trust.payload import TOKEN_PREFIX, b45decode, b45encode

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def mutations(text: str, rng: random.Random, n: int) -> Iterator[str]:
    """``n`` mutated versions of the code ``text`` (six kinds in turn)."""
    raw = b45decode(text[len(TOKEN_PREFIX):])
    assert raw is not None, "not a base45 code"  # callers mutate codes the central service signed
    for i in range(n):
        kind = i % 6
        if kind == 0:  # one bit flipped in the compressed bytes
            b = bytearray(raw)
            pos = rng.randrange(len(b))
            b[pos] ^= 1 << rng.randrange(8)
            yield TOKEN_PREFIX + b45encode(bytes(b))
        elif kind == 1:  # truncated text
            yield text[:rng.randrange(0, len(text))]
        elif kind == 2:  # one character replaced inside the base45 text
            pos = rng.randrange(4, len(text))
            yield text[:pos] + rng.choice(_ALPHABET.replace(text[pos], "")) + text[pos + 1:]
        elif kind == 3:  # bad base45: a character outside the alphabet, or an impossible triple
            pos = rng.randrange(4, len(text))
            yield text[:pos] + rng.choice("abc_~#\u4e2d") + text[pos + 1:] if i % 2 else text + ":::"
        elif kind == 4:  # bytes appended or removed after compression
            yield TOKEN_PREFIX + b45encode(raw + bytes([rng.randrange(256)]) if i % 2 else raw[:-rng.randrange(1, 8)])
        else:  # a flip inside the inflated, signed payload, compressed again
            blob = bytearray(zlib.decompress(raw))
            pos = rng.randrange(len(blob))
            blob[pos] ^= 1 << rng.randrange(8)
            yield TOKEN_PREFIX + b45encode(zlib.compress(bytes(blob)))


def same_signed_content(bad: str, good: str) -> bool:
    """True if ``bad`` inflates to the very bytes of ``good`` (deflate ignores its final padding
    bits: such a text is the same signed code, not a forgery)."""
    try:
        bad_raw, good_raw = b45decode(bad[len(TOKEN_PREFIX):]), b45decode(good[len(TOKEN_PREFIX):])
        if bad_raw is None or good_raw is None:  # not base45: zlib refused None with a TypeError here
            return False
        return zlib.decompress(bad_raw) == zlib.decompress(good_raw)
    except Exception:
        return False


def bomb() -> str:
    """A code-shaped text that inflates to 600 KB of zeros (fits in a QR code)."""
    return TOKEN_PREFIX + b45encode(zlib.compress(b"\0" * 600_000, 9))
