"""ID card: time from the card placed on the simulated reader to the identity event in the runtime.

The simulator (firmware_bridge.idcard.simulator) runs on a real pty, throttled to the wire time
of its answers at the baud rate (10 bits per byte, 8N1); the driver is the runtime's own
(:class:`kiosk.devices.idcard.SamSerialReader`) with its default options. The baseline is the
pure wire time of one read at that baud rate: find, select and read, commands and answers, as
the codec encodes them. The card holds a synthetic citizen (no real person's data), in memory.
"""
from __future__ import annotations

import random
import threading
import time

from firmware_bridge.idcard import codec, status
from firmware_bridge.idcard.identity import encode_text
from firmware_bridge.idcard.simulator import IdCardSimulator
from hall_central.seed import synthetic_citizen
from hall_demo.bench.report import Figure, percentile
from hall_demo.hub import identity_from_citizen
from kiosk.devices.idcard import SamSerialReader
from kiosk.events import EventBus

BAUDRATE = 115200
#: Longest wait for one event (a guard against a hang; a read takes ~0.1-0.5 s).
EVENT_TIMEOUT_S = 10.0
#: The driver's default poll before issue 8 (measured beside the default to show what it costs).
OLD_POLL_S = 0.3


def wire_ms(identity, baudrate: int = BAUDRATE) -> float:
    """Pure wire time (ms) of find + select + read of ``identity``'s card at ``baudrate`` (8N1)."""
    text = encode_text(identity)
    photo = identity.photo.ljust(codec.PHOTO_LEN, b"\0")
    frames = [codec.encode_command(*codec.FIND_CARD), codec.encode_response(0, 0, status.CARD_FOUND, bytes(4)),
              codec.encode_command(*codec.SELECT_CARD), codec.encode_response(0, 0, status.OK, bytes(8)),
              codec.encode_command(*codec.READ_BASE),
              codec.encode_response(0, 0, status.OK, codec.encode_read_data(text, photo, None))]
    return sum(len(f) for f in frames) * 10 / baudrate * 1000


def measure(reps: int, poll_interval_s: float | None = None, seed: int = 8) -> dict:
    """Place and remove a card ``reps`` times; latencies (ms) to presented and identity events."""
    sim = IdCardSimulator(baudrate=BAUDRATE, throttle=True).start()
    bus = EventBus()
    events = {"idcard.presented": threading.Event(), "idcard.identity": threading.Event(),
              "idcard.removed": threading.Event()}
    stamps: dict[str, float] = {}

    def on_event(e) -> None:
        if e.topic in events:
            stamps[e.topic] = time.perf_counter()
            events[e.topic].set()

    bus.subscribe("idcard", on_event)
    options = {"baudrate": BAUDRATE} | ({"poll_interval_s": poll_interval_s} if poll_interval_s else {})
    assert sim.port is not None  # start() opened the pty
    reader = SamSerialReader(sim.port, options, bus)
    poll_s = reader.options["poll_interval_s"]
    rng = random.Random(seed)
    to_identity, presented_to_identity = [], []
    reader.start()
    try:
        for i in range(reps):
            for ev in events.values():
                ev.clear()
            # Why a random pause: a citizen's hand is not in phase with the poll timer.
            time.sleep(rng.uniform(0, poll_s))
            t0 = time.perf_counter()
            sim.place(identity_from_citizen(synthetic_citizen(1000 + i)))
            if not events["idcard.identity"].wait(EVENT_TIMEOUT_S):
                raise TimeoutError(f"no identity event within {EVENT_TIMEOUT_S} s (read {i + 1})")
            to_identity.append((stamps["idcard.identity"] - t0) * 1000)
            presented_to_identity.append((stamps["idcard.identity"] - stamps["idcard.presented"]) * 1000)
            sim.remove()
            if not events["idcard.removed"].wait(EVENT_TIMEOUT_S):
                raise TimeoutError(f"no removal event within {EVENT_TIMEOUT_S} s (read {i + 1})")
    finally:
        reader.stop()
        sim.stop()
    return {"poll_interval_s": poll_s, "read_ms": to_identity, "presented_to_identity_ms": presented_to_identity}


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the ID-card figures (driver defaults, and the former default poll for comparison)."""
    reps = 4 if quick else 20
    default = measure(reps)
    slow = measure(reps, poll_interval_s=OLD_POLL_S)
    wire = wire_ms(identity_from_citizen(synthetic_citizen(1000)))
    med = lambda xs: percentile(xs, 0.5)  # noqa: E731
    extra = {"poll_interval_s": default["poll_interval_s"],
             "read_ms_p90": percentile(default["read_ms"], 0.9),
             f"read_ms_at_poll_{OLD_POLL_S}_s": med(slow["read_ms"]),
             "found_to_identity_ms": med(default["presented_to_identity_ms"]),
             "reads": reps}
    extra = {k: round(v, 2) if isinstance(v, float) else v for k, v in extra.items()}
    return {
        "idcard.read_ms": Figure("idcard.read_ms", med(default["read_ms"]), "ms", "wire time", wire,
                                 note=f"median card placed -> identity event, {reps} reads at {BAUDRATE} baud, "
                                      f"driver default poll {default['poll_interval_s']} s; "
                                      f"{extra[f'read_ms_at_poll_{OLD_POLL_S}_s']} ms at poll {OLD_POLL_S} s "
                                      f"(the former default)",
                                 extra=extra),
        "idcard.wire_ms": Figure("idcard.wire_ms", wire, "ms",
                                 note=f"find + select + read frames at {BAUDRATE} baud, 8N1"),
    }
