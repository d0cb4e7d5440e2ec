"""The central service's inbox: one bounded lane per sending terminal, served round robin.

The front (:mod:`hall_central.front`) judges every message at the door; the service's reader thread
files each accepted one under the terminal its topic names (``kiosk/v1/{terminal}/...``, a string
split; a topic with no terminal segment goes to one ``unknown`` lane). The writer takes a batch round
robin over the lanes that have work: one message from each lane per round, and at most
:data:`QUANTUM` messages (or :data:`QUANTUM_BYTES`) from one lane per batch. So a terminal that
floods the service with valid requests (an outbox drained after an outage, or a broken terminal)
grows only its own lane and fills at most its quantum of each batch: a request from any other
terminal is taken in the next batch, whatever the flooder has queued. Why this and not one FIFO:
with one FIFO every request waited behind everything queued before it, and half the traffic poison
from a few terminals made the valid traffic's p99 many times its clean p99 (issue 13; ``kiosk
bench``, central.poison_p99_ms; poison now stops at the front, a valid flood still queues here).

A lane is bounded (:data:`MAX_DEPTH` messages, :data:`MAX_BYTES` bytes, a message's size being
what it holds in memory while queued: the service queues it sealed, as the front pickled it, and
counts those bytes, at least its payload's size; ``hall_central.front.seal``): a message that would
exceed the bound is shed (not queued) and counted. A shed request is never lost for a real terminal: its outbox resends every
unanswered request (kiosk.network.pump), and the central's idempotency table answers a replay with
the first answer.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

#: The lane of a topic that names no terminal (the front refuses such a topic as ``bad_topic``).
UNKNOWN = "unknown"
#: Why 8: a batch holds at most 8 messages of one terminal, so a few flooding terminals add a few
#: dozen requests to the batch every other terminal's request joins, not hundreds. A terminal alone
#: with a backlog (an outbox drained after an outage) still gets batches of 8 back to back:
#: thousands per second.
QUANTUM = 8
#: Why 64 KiB: the quantum in bytes too (a lane gives at least one message per batch). Eight
#: 240 KB messages cost their handling, 8-20 ms each unloaded: a terminal sending such messages
#: made every batch, and so every other terminal's request, wait for eight of them (issue 13:
#: another terminal's p50 from 47 ms to 2.4 s). A check-in is ~300 bytes: eight of them are far
#: below it; a photo chunk (66 KB) goes one per batch.
QUANTUM_BYTES = 64 * 1024
#: Why 1,000: ten times what a gateway keeps in flight (paho's 100), so a lane only fills when its
#: terminal sends faster than the service can answer it; a full lane is worked off in about a
#: second at the service's rate, before the gateway's own retry (5 s) would resend its tail.
MAX_DEPTH = 1000
#: Why 8 MiB: 120 photo chunks (the largest legitimate message, ~66 KB), and the memory bound of
#: a lane of maximal messages (256 KiB each: 32 of them) whatever its terminal sends.
MAX_BYTES = 8 * 1024 * 1024


def lane_of(topic: str) -> str:
    """The terminal a topic names (unchecked here: the front judged it), or :data:`UNKNOWN`."""
    parts = topic.split("/", 3)
    if len(parts) > 2 and parts[2] and parts[0] == "kiosk" and parts[1] == "v1":
        return parts[2]
    return UNKNOWN


class Lanes:
    """Per-terminal bounded FIFO lanes of ``(topic, item)``; ``put`` from the service's reader
    thread, ``take`` from the writer."""

    def __init__(self, quantum: int = QUANTUM, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES,
                 quantum_bytes: int = QUANTUM_BYTES) -> None:
        self.quantum, self.max_depth, self.max_bytes = quantum, max_depth, max_bytes
        self.quantum_bytes = quantum_bytes
        self._lanes: dict[str, deque[tuple[tuple[str, Any], int]]] = {}  # ((topic, item), size)
        self._bytes: dict[str, int] = {}
        #: The lanes with work, in round-robin order (each lane at most once).
        self._ring: deque[str] = deque()
        self._size = 0
        #: Messages shed because their lane was full (or the inbox closed), by lane.
        self.shed: dict[str, int] = {}
        self._closed = False
        self._waiting = False  # the writer waits for work: only then does a put wake it
        self._want = 1  # how many queued messages wake it (more while it lingers for a fuller batch)
        self._cond = threading.Condition()

    def put(self, item: tuple[str, Any], size: int | None = None) -> bool:
        """File ``(topic, x)`` under its lane; False when it was shed (lane full or closed).
        ``size``: the message's bytes (by default ``len(x)``, for a raw payload)."""
        key = lane_of(item[0])
        size = len(item[1]) if size is None else size
        with self._cond:
            lane = self._lanes.get(key)
            if self._closed or (lane is not None and (len(lane) >= self.max_depth
                                                      or self._bytes[key] + size > self.max_bytes)):
                self.shed[key] = self.shed.get(key, 0) + 1
                return False
            if lane is None:  # an empty lane is forgotten, so the lanes are the terminals with work
                lane = self._lanes[key] = deque()
                self._bytes[key] = 0
                self._ring.append(key)
            lane.append((item, size))
            self._bytes[key] += size
            self._size += 1
            if self._waiting and self._size >= self._want:
                self._cond.notify()
        return True

    def take(self, max_batch: int, fill: int = 1, linger_s: float = 0.0) -> list[tuple[str, Any]] | None:
        """The next batch (blocks until there is work); None once closed and worked off.

        Once there is work and fewer than ``fill`` messages are queued, waits up to ``linger_s``
        more for ``fill`` of them (group commit: the writer's caller says why). Rounds over the lanes
        with work, one message from each per round, until the batch holds ``max_batch`` or every
        lane is empty or has given its quantum. The ring turns on: the next batch starts with the
        lanes this one did not reach, then those that gave their quantum.
        """
        with self._cond:
            while not self._ring and not self._closed:
                self._waiting = True
                self._cond.wait()
                self._waiting = False
            if self._size < fill and linger_s > 0 and not self._closed:
                self._want, self._waiting = fill, True
                self._cond.wait_for(lambda: self._size >= fill or self._closed, linger_s)
                self._want, self._waiting = 1, False
            batch: list[tuple[str, Any]] = []
            given: dict[str, int] = {}
            given_bytes: dict[str, int] = {}
            spent: list[str] = []
            ring = self._ring
            while ring and len(batch) < max_batch:
                key = ring.popleft()
                lane = self._lanes[key]
                item, size = lane.popleft()
                batch.append(item)
                self._bytes[key] -= size
                self._size -= 1
                n = given[key] = given.get(key, 0) + 1
                nbytes = given_bytes[key] = given_bytes.get(key, 0) + size
                if not lane:
                    del self._lanes[key], self._bytes[key]
                elif n >= self.quantum or nbytes >= self.quantum_bytes:
                    spent.append(key)
                else:
                    ring.append(key)
            ring.extend(spent)
            return batch or None

    def close(self) -> None:
        """Take nothing more; ``take`` returns what is queued, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def qsize(self) -> int:
        """Messages queued in all lanes."""
        with self._cond:
            return self._size

    def depth(self, terminal: str) -> int:
        """Messages queued in one terminal's lane."""
        with self._cond:
            lane = self._lanes.get(terminal)
            return len(lane) if lane is not None else 0

    def shed_total(self) -> int:
        """Messages shed so far."""
        with self._cond:
            return sum(self.shed.values())
