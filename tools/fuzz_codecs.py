"""Bench-style fuzzing of the device codecs: only frames or typed errors may come out, never an exception.

Each codec registers a function ``one_input(rng) -> list[outcome]`` with :func:`register`; the
tool calls it ``--inputs`` times and counts outcomes: a ``KioskError`` is a typed error, any other
exception is a bug (its first tracebacks are printed), anything else is a decoded frame. Inputs
are mutations of valid frames (bit flips, truncation, splices, corrupted length and checksum,
garbage) fed in random chunk sizes, so split and merged reads are exercised too. A hang cannot
hide: every input is bounded and the run prints its rate.

    .venv/bin/python -m tools.fuzz_codecs --codec idcard --inputs 100000
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable

from kiosk.errors import KioskError

Outcome = object
#: codec name -> function producing the outcomes of one random input.
CODECS: dict[str, Callable[[random.Random], list[Outcome]]] = {}


def register(name: str) -> Callable:
    """Decorator: register ``fn(rng) -> list of outcomes`` as the fuzz target ``name``."""
    def deco(fn: Callable[[random.Random], list[Outcome]]) -> Callable:
        CODECS[name] = fn
        return fn
    return deco


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One or more random mutations of ``data`` (flip, truncate, insert, delete, splice, garbage)."""
    buf = bytearray(data)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        op = rng.randrange(7)
        if op == 0 and buf:
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            del buf[rng.randrange(len(buf)):]
        elif op == 2:
            pos = rng.randrange(len(buf) + 1)
            buf[pos:pos] = rng.randbytes(rng.randrange(1, 16))
        elif op == 3 and buf:
            pos = rng.randrange(len(buf))
            del buf[pos:pos + rng.randrange(1, 16)]
        elif op == 4 and len(buf) > 6:
            buf[5 + rng.randrange(2)] = rng.randrange(256)  # the length field
        elif op == 5 and buf:
            buf[-1] = rng.randrange(256)  # the checksum
        else:
            buf[:0] = rng.randbytes(rng.randrange(0, 32))
    return bytes(buf)


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """``data`` cut at random points (partial reads)."""
    out, pos = [], 0
    while pos < len(data):
        n = rng.choice((1, 2, 3, 7, 64, 512, 4096))
        out.append(data[pos:pos + n])
        pos += n
    return out


# -- the ID-card reader codec ------------------------------------------------------------------
_IDCARD_CACHE: dict[str, list[bytes]] = {}


def _idcard_corpus() -> list[bytes]:
    from firmware_bridge.idcard import codec
    from firmware_bridge.idcard.identity import encode_text
    from firmware_bridge.idcard.synthetic import synthetic_identity
    if "frames" not in _IDCARD_CACHE:
        frames = [codec.encode_command(*c) for c in (codec.RESET_SAM, codec.SAM_STATUS, codec.READ_SAM_ID,
                                                      codec.FIND_CARD, codec.SELECT_CARD, codec.READ_BASE,
                                                      codec.READ_BASE_FINGERPRINT, codec.READ_ADDITIONAL_ADDRESS)]
        frames += [codec.encode_response(0, 0, sw3) for sw3 in (0x90, 0x9F, 0x80, 0x81, 0x41, 0x10, 0x60)]
        for i, card_type in enumerate(("resident", "foreign_permanent", "hkmotw_permit") * 2):
            ident = synthetic_identity(i, card_type=card_type)
            fp = ident.photo if i >= 3 else None
            frames.append(codec.encode_response(0, 0, 0x90, codec.encode_read_data(encode_text(ident),
                                                                                     ident.photo, fp)))
        _IDCARD_CACHE["frames"] = frames
    return _IDCARD_CACHE["frames"]


@register("idcard")
def fuzz_idcard(rng: random.Random) -> list[Outcome]:
    """One input for the ID-card codec: mutated frames through the decoder and the identity parser."""
    from firmware_bridge.idcard import codec
    from firmware_bridge.idcard.identity import parse_text
    corpus = _idcard_corpus()
    parts = [mutate(rng, rng.choice(corpus)) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        parts.append(rng.randbytes(rng.randrange(0, 300)))
    direction = rng.choice(("response", "command"))
    decoder = codec.Decoder(direction)
    outcomes: list[Outcome] = []
    for piece in chunks(rng, b"".join(parts)):
        outcomes += decoder.feed(piece)
    outcomes += decoder.flush()
    for item in list(outcomes):
        if isinstance(item, codec.Response) and len(item.data) > 4:
            for fingerprint in (False, True):
                try:
                    payload = codec.parse_read_data(item.data, fingerprint=fingerprint)
                    outcomes.append(parse_text(payload.text, payload.photo, payload.fingerprint))
                except KioskError as e:
                    outcomes.append(e)
    if rng.random() < 0.2:  # the text parser alone, on a mutated block of the right size
        # corpus[-6:-3] are base read answers: preamble 5 + length 2 + SW 3 + two length words 4 = 14
        block = bytearray(mutate(rng, rng.choice(corpus[-6:-3])[14:14 + 256]).ljust(256, b" ")[:256])
        try:
            outcomes.append(parse_text(bytes(block)))
        except KioskError as e:
            outcomes.append(e)
    return outcomes


def run(name: str, n_inputs: int, seed: int = 0, show: int = 3) -> Counter:
    """Fuzz codec ``name`` with ``n_inputs`` inputs; counts of frames, typed errors, exceptions."""
    fn = CODECS[name]
    rng = random.Random(seed)
    counts: Counter = Counter({"frames": 0, "typed_errors": 0, "exceptions": 0})
    for _ in range(n_inputs):
        try:
            outcomes = fn(rng)
        except KioskError:
            counts["typed_errors"] += 1
            continue
        except Exception:
            counts["exceptions"] += 1
            if show > 0:
                show -= 1
                traceback.print_exc()
            continue
        for item in outcomes:
            if isinstance(item, KioskError):
                counts["typed_errors"] += 1
                counts["error:" + item.code] += 1
            elif isinstance(item, BaseException):
                counts["exceptions"] += 1
            else:
                counts["frames"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: print the counts; exit status 1 if any exception escaped."""
    ap = argparse.ArgumentParser(description="fuzz a device codec")
    ap.add_argument("--codec", choices=sorted(CODECS), default="idcard")
    ap.add_argument("--inputs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts = run(args.codec, args.inputs, args.seed)
    elapsed_s = time.perf_counter() - t0
    print(f"codec={args.codec} inputs={args.inputs} frames={counts['frames']} "
          f"typed_errors={counts['typed_errors']} exceptions={counts['exceptions']} "
          f"elapsed_s={elapsed_s:.1f} inputs_per_s={args.inputs / max(elapsed_s, 1e-9):.0f}")
    for key, n in sorted((k, v) for k, v in counts.items() if k.startswith("error:")):
        print(f"  {key[6:]}: {n}")
    return 1 if counts["exceptions"] else 0


if __name__ == "__main__":
    sys.exit(main())
