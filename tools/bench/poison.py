"""The hostile inputs of issue 13, as a terminal could publish them on its own topics.

One list for the central service's tests (each must cost only itself) and for the benchmark's
poison run (``tools/bench/central.py``: half the traffic poison from other terminals). Each
:class:`Poison` says what the central service must do with it: answer ``invalid`` or ``forbidden``
on the SENDER's own res topic (the message names a request the sender can match an answer to),
or drop it and count it (no usable reply path: it cannot even be parsed).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


def _env(op: str = "checkin", terminal: Callable[[str, str], str] = lambda s, v: f'"{s}"', body: str = _CHECKIN,
         v: str = "1") -> Callable[[str, str, str], bytes]:
    def make(mid: str, sender: str, victim: str) -> bytes:
        return (_ENV % {"id": mid, "op": op, "v": v, "terminal": terminal(sender, victim), "body": body}).encode()
    return make


POISONS: tuple[Poison, ...] = (
    Poison("terminal_plus", "checkin", "invalid", _env(terminal=lambda s, v: '"+"')),
    Poison("terminal_null", "checkin", "invalid", _env(terminal=lambda s, v: "null")),
    Poison("terminal_int", "checkin", "invalid", _env(terminal=lambda s, v: "123")),
    Poison("terminal_object", "checkin", "invalid", _env(terminal=lambda s, v: '{"id":"%s"}' % v)),
    Poison("terminal_fullwidth", "checkin", "invalid", _env(terminal=lambda s, v: '"ＺＭ－ＥＶＩＬ０１"')),
    Poison("terminal_short", "checkin", "invalid", _env(terminal=lambda s, v: '"ZM"')),
    Poison("big_int_in_body", "checkin", "invalid", _env(body='{"appointment_id":"X1","n":%s}' % BIG_INT)),
    Poison("big_int_as_version", "checkin", "invalid", _env(v=BIG_INT)),
    Poison("nested_5000", "checkin", "dropped", _env(body=_nested(5000))),
    Poison("nested_100000", "checkin", "dropped", _env(body=_nested(100_000))),
    Poison("lone_surrogate", "feedback.submit", "invalid",
           _env(op="feedback.submit", body='{"kind":"consult","target":{"hall":true},"text":"\\ud800"}')),
    Poison("other_terminal", "ticket.walkin", "forbidden", _env(op="ticket.walkin", terminal=lambda s, v: f'"{v}"',
                                                                 body='{"line":"A"}')),
)
