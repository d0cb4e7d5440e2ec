"""The central service's door: what judging a hostile message costs, against reading its bytes.

Every message a terminal sends is judged at the door (hall_central.intake.judge) before anything
else happens to it, so a sender chooses what the door spends (issue 13: a bad message costs only
itself, and little). Two figures, each against a baseline measured in the same run:

- ``door.depth_check_ms``: the depth check on the payloads that cost it most
  (:func:`hall_demo.bench.poison.depth_bombs`, 250 KB each; the worse of the two), against one C
  pass over the same bytes (``bytes.translate``, the check's own first step). When each string was
  a regular-expression match or each level a pass over the brackets it took 30 to 200 times that.
- ``door.poison_judge_ms``: the costliest of the issue's poisons (hall_demo.bench.poison.POISONS),
  judged whole, against judging a valid check-in.
"""
from __future__ import annotations

import functools

from hall_central import intake
from hall_demo.bench.poison import POISONS, depth_bombs, message
from hall_demo.bench.report import Figure, percentile, time_calls_ms
from kiosk.network import envelope, topics

SENDER, VICTIM = "BENCH-EVIL00", "BENCH-GOOD00"
_CHECKIN = message(body='{"appointment_id":"AP0123456789ABCDEF"}')("m1", SENDER, VICTIM)


def med(xs: list[float]) -> float:
    """The median of measured times (never empty here)."""
    m = percentile(xs, 0.5)
    assert m is not None, "no times measured"
    return m


def run(quick: bool = False) -> dict[str, Figure]:
    """Measure the door figures (medians; about a second, quick or not)."""
    reps = 30 if quick else 200
    depth: dict[str, tuple[float, float]] = {}
    bombs = depth_bombs(SENDER, envelope.MAX_BYTES - 2000, intake.HEAD_BYTES)
    for name, payload in bombs.items():
        if not intake._too_deep(payload):
            raise AssertionError(f"the door missed the depth of {name!r}")
        one_pass = med(time_calls_ms(functools.partial(payload.translate, intake._AS_BRACKETS, intake._NOT_MARK), reps))
        depth[name] = (med(time_calls_ms(functools.partial(intake._too_deep, payload), reps)), one_pass)
    worst = max(depth, key=lambda n: depth[n][0] / depth[n][1])
    valid = med(time_calls_ms(lambda: intake.judge(topics.req(SENDER, "checkin"), _CHECKIN), reps * 5))
    poison = {p.name: med(time_calls_ms(functools.partial(intake.judge, topics.req(SENDER, p.op),
                                                          p.make("m1", SENDER, VICTIM)), reps)) for p in POISONS}
    costliest = max(poison, key=poison.__getitem__)
    return {
        "door.depth_check_ms": Figure(
            "door.depth_check_ms", depth[worst][0], "ms", "one pass over the same bytes", depth[worst][1],
            note=f"median depth check of {worst!r} ({len(bombs[worst]):,} B); "
                 + "; ".join(f"{n}: {c:.3f} ms against {b:.3f} ms" for n, (c, b) in depth.items())),
        "door.poison_judge_ms": Figure(
            "door.poison_judge_ms", poison[costliest], "ms", "judging a valid check-in", valid,
            note=f"the costliest poison, {costliest!r}, median; "
                 + ", ".join(f"{n} {v:.3f}" for n, v in sorted(poison.items(), key=lambda kv: -kv[1]))),
    }
