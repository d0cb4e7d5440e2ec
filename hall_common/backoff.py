"""The reconnect delay policy every link of the terminal shares (devices and the MQTT link)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's "full jitter").

    Why full jitter: a hall's devices (and a city's terminals) that lose a link together must not
    retry in lockstep. ``next()`` returns a delay uniformly drawn in [0, min(cap, base * 2**n)].
    """

    base_s: float = 0.2
    cap_s: float = 10.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        """The delay before the next attempt (s), and count the attempt."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def longest(self) -> float:
        """The longest delay, for a failure that retrying sooner cannot fix (credentials refused),
        and count the attempt. Why still jittered (in the upper half of the cap): a fleet refused
        together, say after a broker lost its ACLs, must not come back in lockstep once fixed."""
        self.attempt += 1
        return self.rng.uniform(self.cap_s / 2, self.cap_s)

    def reset(self) -> None:
        """Back to the first delay (after a success)."""
        self.attempt = 0
