"""The hostile inputs of issue 13, as a terminal could publish them on its own topics, and the
process that sends them during the benchmark's poison run.

One list for the central service's tests (each must cost only itself) and for the benchmark's
poison run (``demo/hall_demo/bench/central.py``: half the traffic poison from other terminals). Each
:class:`Poison` says what the central service must do with it: answer ``invalid`` or ``forbidden``
on the SENDER's own res topic (the message names a request the sender can match an answer to),
or drop it and count it (no usable reply path: it cannot even be parsed).

``python -m hall_demo.bench.poison PORT TERMINALS VICTIM`` is the sender: it prints ``ready`` once
subscribed to its terminals' res topics, then for each ``go RATE SECONDS`` line on stdin
publishes the list round robin (QoS 1, as the issue's reproduction) from its terminals at that
rate and prints one JSON line: how many it sent and which answers came back. It runs in its own
process so that it costs the load generator nothing (its GIL is its own), and speaks MQTT through
:mod:`hall_demo.bench.rawmqtt` (prebuilt packets, not paho) so that it costs the machine little:
the poisoning terminals stand for devices elsewhere, and their CPU here is the benchmark's own.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from hall_central.broker_profile import MAX_INFLIGHT_MESSAGES
from hall_demo import ROOT
from hall_demo.bench.rawmqtt import RawClient

#: The envelope of the issue's reproduction, with the parts a poison replaces.
_ENV = ('{"id":"%(id)s","type":"req","op":"%(op)s","v":%(v)s,"ts":"2026-12-03T06:00:00.000Z",'
        '"terminal":%(terminal)s,"idem":"k%(id)s","body":%(body)s}')
_CHECKIN = '{"appointment_id":"X1"}'
#: Why 5,000 digits: above Python's int-string limit (4,300), where ``json.loads`` raises ValueError.
BIG_INT = "9" * 5000


def _nested(depth: int) -> str:
    return '{"appointment_id":"X1","n":' + "[" * depth + "]" * depth + "}"


@dataclass(frozen=True)
class Poison:
    """One hostile message: published on ``kiosk/v1/{sender}/req/{op}``."""

    name: str
    op: str
    #: invalid | forbidden (answered on the sender's res topic) | dropped (counted, not answered)
    expect: str
    make: Callable[[str, str, str], bytes]  # (message id, sender's terminal id, victim's terminal id) -> payload


def message(op: str = "checkin", terminal: Callable[[str, str], str] = lambda s, v: f'"{s}"', body: str = _CHECKIN,
         v: str = "1") -> Callable[[str, str, str], bytes]:
    """A maker of the issue's envelope with the given parts replaced (the poisons, the depth bombs
    and the bench's valid check-in are all built from this one envelope)."""
    def make(mid: str, sender: str, victim: str) -> bytes:
        return (_ENV % {"id": mid, "op": op, "v": v, "terminal": terminal(sender, victim), "body": body}).encode()
    return make


POISONS: tuple[Poison, ...] = (
    Poison("terminal_plus", "checkin", "invalid", message(terminal=lambda s, v: '"+"')),
    Poison("terminal_null", "checkin", "invalid", message(terminal=lambda s, v: "null")),
    Poison("terminal_int", "checkin", "invalid", message(terminal=lambda s, v: "123")),
    Poison("terminal_object", "checkin", "invalid", message(terminal=lambda s, v: f'{{"id":"{v}"}}')),
    Poison("terminal_fullwidth", "checkin", "invalid", message(terminal=lambda s, v: '"ＺＭ－ＥＶＩＬ０１"')),
    Poison("terminal_short", "checkin", "invalid", message(terminal=lambda s, v: '"ZM"')),
    Poison("big_int_in_body", "checkin", "invalid", message(body=f'{{"appointment_id":"X1","n":{BIG_INT}}}')),
    Poison("big_int_as_version", "checkin", "invalid", message(v=BIG_INT)),
    Poison("nested_5000", "checkin", "dropped", message(body=_nested(5000))),
    Poison("nested_100000", "checkin", "dropped", message(body=_nested(100_000))),
    Poison("lone_surrogate", "feedback.submit", "invalid",
           message(op="feedback.submit", body='{"kind":"consult","target":{"hall":true},"text":"\\ud800"}')),
    Poison("other_terminal", "ticket.walkin", "forbidden", message(op="ticket.walkin", terminal=lambda s, v: f'"{v}"',
                                                                 body='{"line":"A"}')),
)


def depth_bombs(sender: str, room: int, head: int) -> dict[str, bytes]:
    """Payloads deeper than the contract's 32 levels that cost the door's depth check most, as valid
    JSON of about ``room`` bytes (the door's own tests and the bench's ``door`` area).

    ``head`` is how much of a payload the door judges first (hall_central.intake.HEAD_BYTES): the
    chains hide behind a head within the limit. Both were door-cost attacks before the check ran
    on the bytes in a few passes: one regular-expression match per string (the 900-deep one, 7-11
    ms) and one pass over the brackets per level (the chains, 13-20 ms)."""
    body = '{"appointment_id":"X1","n":%s}'
    chain = "[" * 31 + "]" * 31  # 34 deep inside the envelope, the body and n
    return {name: message(body=body % n)("m1", sender, sender) for name, n in {
        # 900 levels of about 70 short strings each
        "900 deep, 87,000 strings": ("[" + ",".join(['"a"'] * (room // 900 // 4 - 8)) + ",") * 900 + "0" + "]" * 900,
        # a head within the limit, then 4,000 chains 31 deep
        "4,000 chains 31 deep": '["' + "x" * head + '",' + ",".join([chain] * ((room - head) // 63)) + "]",
    }.items()}


#: Why 10: "other terminals" of the issue, several, so that no per-terminal rule could hide the cost.
SENDERS = 10
#: How long the sender waits at most after a run for the answers still on their way (it stops
#: as soon as every message sent is answered; a missing answer shows in the result).
SETTLE_S = 2.0


class Sender:
    """The poisoning terminals (one MQTT client speaking on their topics, as an unchecked broker allows)."""

    def __init__(self, port: int, terminals: int, victim: str) -> None:
        from kiosk.network import topics
        self.ids = [f"BENCH-EVIL{k:02d}" for k in range(terminals)]
        self.answers: Counter = Counter()
        self.unexpected = 0
        self._lock = threading.Lock()
        # The broker's Receive Maximum: more unacknowledged QoS 1 messages would be a protocol error.
        self.client = RawClient(port, "bench-poison", [topics.res(t) for t in self.ids], self._on_payload,
                                window=MAX_INFLIGHT_MESSAGES)
        # Every (poison, sender) packet built once: the 100,000-deep one is 200 KB.
        self.msgs = [(p, self.client.prepare(topics.req(t, p.op), p.make(f"P{k}-{n}", t, victim)))
                     for k, p in enumerate(POISONS) for n, t in enumerate(self.ids)]

    def _on_payload(self, payload: bytes) -> None:
        try:
            env = json.loads(payload)
            k = int(env["corr"][1:].split("-")[0])
            code = env["body"]["error"]["code"]
        except Exception:  # an exception would end the reader thread
            code, k = "unreadable", -1
        with self._lock:
            self.answers[code] += 1
            if k < 0 or POISONS[k].expect != code:
                self.unexpected += 1

    def run(self, rate: float, seconds: float) -> dict:
        """Publish at ``rate`` for ``seconds``; what was sent and answered."""
        with self._lock:
            self.answers.clear()
            self.unexpected = 0
        t0 = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - t0 < seconds:
            due = int((now - t0) * rate)
            while n < due:
                self.client.publish(self.msgs[n % len(self.msgs)][1])
                n += 1
            time.sleep(0.001)
        settled = time.perf_counter() + SETTLE_S
        while time.perf_counter() < settled:
            with self._lock:
                if sum(self.answers.values()) >= n:
                    break
            time.sleep(0.01)  # why polled: answers arrive on paho's thread; 10 ms against a 2 s bound
        expected = Counter(self.msgs[i % len(self.msgs)][0].expect for i in range(n))
        with self._lock:
            return {"sent": n, "expected": dict(expected), "answers": dict(self.answers),
                    "unexpected_answers": self.unexpected}

    def stop(self) -> None:
        """Disconnect."""
        self.client.close()


class PoisonProcess:
    """``python -m hall_demo.bench.poison``: the poisoning terminals in their own process."""

    def __init__(self, port: int, victim: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "hall_demo.bench.poison", str(port), str(SENDERS), victim],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=str(ROOT))
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both PIPE
        self._stdin, self._stdout = self.proc.stdin, self.proc.stdout
        if self._stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("the poison sender did not start")

    def go(self, rate: float, seconds: float) -> None:
        """Start sending now (returns at once)."""
        self._stdin.write(f"go {rate:.1f} {seconds}\n")
        self._stdin.flush()

    def result(self) -> dict:
        """What the last run sent and which answers came back (waits for its end)."""
        result: dict = json.loads(self._stdout.readline())
        return result

    def stop(self) -> None:
        """Close its stdin (it stops), then make sure it is gone."""
        self._stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._stdout.close()


def main(argv: list[str]) -> int:
    """The sender process (see the module docstring)."""
    sender = Sender(int(argv[0]), int(argv[1]), argv[2])
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            _, rate, seconds = line.split()
            print(json.dumps(sender.run(float(rate), float(seconds))), flush=True)
    finally:
        sender.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
