"""Recorded byte traces of reader sessions: record them from the simulator, replay them through the codec.

A trace is JSON lines: a header ``{"label": "from the simulator", ...}`` with the expected masked
identity, then one record per chunk ``{"t": s, "dir": "host->reader"|"reader->host", "hex": ...}``.
Replaying decodes both directions with :class:`~.codec.Decoder` and parses every read answer with
:func:`~.identity.parse_text`, exactly as the driver does. The traces hold synthetic identities
only; ``python -m firmware_bridge.idcard.traces DIR`` rewrites them.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial

from firmware_bridge.idcard import codec
from firmware_bridge.idcard.identity import Identity, parse_text
from firmware_bridge.idcard.simulator import IdCardSimulator
from firmware_bridge.idcard.synthetic import synthetic_identity

#: The sessions recorded: file stem -> (seed, card type, read command).
SESSIONS = {
    "resident_read": (11, "resident", codec.READ_BASE),
    "foreign_permanent_read": (12, "foreign_permanent", codec.READ_BASE),
    "hkmotw_permit_read": (13, "hkmotw_permit", codec.READ_BASE),
    "resident_read_fingerprint": (14, "resident", codec.READ_BASE_FINGERPRINT),
}


@dataclass
class Replay:
    """What a trace decodes to: commands, responses, typed errors and identities."""

    header: dict[str, Any]
    commands: list[codec.Command] = field(default_factory=list)
    responses: list[codec.Response] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)


def _exchange(port: serial.Serial, decoder: codec.Decoder, command: tuple[int, int]) -> codec.Response:
    port.write(codec.encode_command(*command))
    while True:
        chunk = port.read(max(1, port.in_waiting))
        if not chunk:
            raise TimeoutError(f"simulator did not answer {command}")
        for item in decoder.feed(chunk):
            if isinstance(item, codec.Response):
                return item
            if isinstance(item, codec.Command):  # a response decoder yields none
                raise TypeError(f"not a response: {item!r}")
            raise item


def record_session(seed: int, card_type: str, read_command: tuple[int, int]) -> str:
    """Run one session (SAM status, find, select, read, find again) against the simulator; JSONL."""
    identity = synthetic_identity(seed, card_type=card_type)
    with IdCardSimulator() as sim:
        sim.place(identity)
        with serial.Serial(sim.port, 115200, timeout=2) as port:
            decoder = codec.Decoder("response")
            for command in (codec.SAM_STATUS, codec.FIND_CARD, codec.SELECT_CARD, read_command,
                            codec.FIND_CARD, codec.SELECT_CARD):
                _exchange(port, decoder, command)
        return sim.trace.to_jsonl(card_type=card_type, fingerprint=read_command == codec.READ_BASE_FINGERPRINT,
                                  expected=identity.masked())


def replay(path: str | Path) -> Replay:
    """Decode a recorded trace with the driver's codec and parser."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    out = Replay(header)
    decoders = {"host->reader": codec.Decoder("command"), "reader->host": codec.Decoder("response")}
    for line in lines[1:]:
        rec = json.loads(line)
        for item in decoders[rec["dir"]].feed(bytes.fromhex(rec["hex"])):
            if isinstance(item, Exception):
                out.errors.append(item)
            elif isinstance(item, codec.Command):
                out.commands.append(item)
            else:
                out.responses.append(item)
    for cmd, resp in zip(out.commands, out.responses):
        if cmd.key in (codec.READ_BASE, codec.READ_BASE_FINGERPRINT) and resp.ok:
            payload = codec.parse_read_data(resp.data, fingerprint=cmd.key == codec.READ_BASE_FINGERPRINT)
            out.identities.append(parse_text(payload.text, payload.photo, payload.fingerprint))
    return out


def main(argv: list[str] | None = None) -> int:
    """Rewrite the recorded traces into a directory."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="directory, e.g. tests/traces/idcard")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stem, (seed, card_type, cmd) in SESSIONS.items():
        (out / f"{stem}.jsonl").write_text(record_session(seed, card_type, cmd), encoding="utf-8")
        print(out / f"{stem}.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
