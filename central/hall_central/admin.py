"""``python -m hall_central.admin``: list terminals, broadcast announcements, send commands,
advance applications. Reads/writes the central database directly and publishes over MQTT.

Commands carry ``target``, ``seq`` (per terminal, from the database) and ``expires_at``; the
signature is added by :func:`sign_command` with the command key of ``--keys DIR``
(:class:`hall_central.keys.CentralKeys`). ``keyset`` sends the signed key set to a terminal
(``config.set`` with ``{"keyset": ...}``). ``--pki DIR`` connects over mqtts:// with the central's
certificate from central/hall_central/pki.py.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from hall_central.clock import Clock, iso_utc
from hall_central.domain import Domain, OpError
from hall_central.front import apply_tls
from hall_central.service import parse_broker_url
from hall_central.stores import open_store
from kiosk.network import envelope, schemas, topics

#: Why 10 min: a command to a terminal that is offline longer should not run when it comes back.
COMMAND_TTL_S = 600


def sign_command(env: envelope.Envelope, keys=None) -> envelope.Envelope:
    """Sign a command with the central's command key (``keys``: CentralKeys); unsigned without keys."""
    return keys.sign_command(env) if keys is not None else env


def command_envelope(terminal: str, op: str, args: dict, seq: int, now: dt.datetime,
                     ttl_s: float = COMMAND_TTL_S, keys=None) -> envelope.Envelope:
    """A signed (see :func:`sign_command`) command envelope for one terminal."""
    body = {"args": args, "target": terminal, "seq": seq, "expires_at": iso_utc(now + dt.timedelta(seconds=ttl_s))}
    return sign_command(envelope.Envelope("cmd", op, terminal, body), keys)


def broadcast_envelope(region: str, text: str, text_en: str, level: str, until: dt.datetime) -> envelope.Envelope:
    """An announcement for every terminal of a region."""
    body = {"text": text, "text_en": text_en, "level": level, "until": iso_utc(until)}
    return envelope.Envelope("bcast", "announcement", "central", body)


def publish_once(broker_url: str, topic: str, payload: bytes, timeout_s: float = 10.0, tls: dict | None = None) -> None:
    """Connect, publish with QoS 1, wait for a successful PUBACK, disconnect."""
    done, failure = threading.Event(), []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="central-admin-" + uuid.uuid4().hex[:8],
                    protocol=mqtt.MQTTv5)

    def on_publish(client, userdata, mid, reason_code, properties):
        if reason_code.is_failure:  # PITFALLS.md: a PUBACK may carry a refusal
            failure.append(str(reason_code))
        done.set()

    c.on_publish = on_publish
    c.on_connect = lambda client, *a: client.publish(topic, payload, qos=1)
    apply_tls(c, broker_url, tls)
    host, port = parse_broker_url(broker_url)
    c.connect(host, port)
    c.loop_start()
    try:
        if not done.wait(timeout_s):
            raise TimeoutError(f"no PUBACK from {broker_url} within {timeout_s} s")
        if failure:
            raise RuntimeError(f"broker refused the message: {failure[0]}")
    finally:
        c.disconnect()
        c.loop_stop()


def main(argv: list[str] | None = None, out=None) -> int:
    """Run one admin command; returns the exit status."""
    out = out or sys.stdout
    ap = argparse.ArgumentParser(prog="python -m hall_central.admin", description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", default="", help="mqtt://HOST:PORT (announce, command)")
    ap.add_argument("--db", required=True, help="the central database (SQLite path)")
    ap.add_argument("--keys", default="", help="the central's signing keys (hall_central.keys); signs commands")
    ap.add_argument("--pki", default="", help="a central/hall_central/pki.py directory: connect with the central's certificate")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("terminals", help="list terminals, their state and last telemetry (JSON lines)")
    a = sub.add_parser("announce", help="broadcast an announcement to a region")
    a.add_argument("--region", required=True, help="GB/T 2260 code: 410100 reaches the whole city")
    a.add_argument("--text", required=True)
    a.add_argument("--text-en", default="")
    a.add_argument("--level", choices=["info", "warning"], default="info")
    a.add_argument("--hours", type=float, default=24.0, help="how long the announcement stays up")
    c = sub.add_parser("command", help="send a command to one terminal")
    c.add_argument("--terminal", required=True)
    c.add_argument("--op", required=True, choices=schemas.schema_files()["operations.json"]["commands"])
    c.add_argument("--args", default="{}", help="JSON object")
    k = sub.add_parser("keyset", help="send the signed key set to one terminal (config.set)")
    k.add_argument("--terminal", required=True)
    v = sub.add_parser("advance", help="move an application to its next level (or finish it)")
    v.add_argument("--application", required=True)
    args = ap.parse_args(argv)
    store = open_store(args.db)
    clock = Clock()
    try:
        if args.cmd == "terminals":
            for t in store.terminals():
                print(json.dumps(t, ensure_ascii=False), file=out)
        elif args.cmd == "advance":
            try:
                with store.transaction():
                    view = Domain(store, clock).advance_application(args.application)
            except OpError as e:
                print(json.dumps(e.to_dict(), ensure_ascii=False), file=out)
                return 1
            print(json.dumps({k: view[k] for k in ("application_no", "status", "current_level", "current_agency",
                                                   "flag")}, ensure_ascii=False), file=out)
        else:
            if not args.broker:
                ap.error("--broker is required for announce and command")
            if args.cmd == "announce":
                env = broadcast_envelope(args.region, args.text, args.text_en, args.level,
                                         clock.now() + dt.timedelta(hours=args.hours))
                topic = topics.bcast(args.region)
            else:
                from hall_central.keys import CentralKeys
                keys = CentralKeys(args.keys) if args.keys else None
                if args.cmd == "keyset":
                    if keys is None:
                        ap.error("keyset needs --keys")
                    op, cmd_args = "config.set", {"keyset": keys.keyset()}
                else:
                    op = args.op
                    try:
                        cmd_args = json.loads(args.args)
                        assert isinstance(cmd_args, dict)
                    except (ValueError, AssertionError):
                        ap.error("--args must be a JSON object")
                with store.transaction():
                    seq = store.next_counter(f"cmd_seq:{args.terminal}")
                env = command_envelope(args.terminal, op, cmd_args, seq, clock.now(), keys=keys)
                topic = topics.cmd(args.terminal)
            schemas.validate_message(topic, env.to_dict())
            tls = None
            if args.pki:
                from hall_central.pki import Pki
                tls = Pki(Path(args.pki), 0).central_tls()
            publish_once(args.broker, topic, env.to_bytes(), tls=tls)
            print(json.dumps({"sent": topic, "id": env.id, **({"seq": env.body["seq"]} if "seq" in env.body else {})}),
                  file=out)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
