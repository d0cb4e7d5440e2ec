"""Citizen data retention: canary identities through the real stack, then every file searched.

Canary citizens (unique rare-character names, valid ID numbers, unique addresses) are read by
the ID-card driver from the pty simulator, looked up at the central service over a real
Mosquitto, queried for appointments, and some take and print a ticket on the ESC/POS simulator;
some sessions are killed mid-read (the simulator pulls the card halfway through a frame). Then
every file the runtime, the broker (with persistence on and verbose logging), the central service,
the logs (kiosk.logs at DEBUG into a file), the temporary folder and the printer simulator wrote
is searched for each canary as UTF-8, GB18030, UTF-16LE and Base64: the only allowed forms are
the masked ones (hall_common.privacy), which never contain the searched values.

The central service is the authority: it receives the ID number and name in citizen.lookup and
keeps an HMAC of the number and the masked name (central/hall_central/store.py); nothing is excluded.
It never receives the card's photo: every canary card carries a unique photo, and a spy subscribed
to every topic of the broker sees the ID numbers go by (the control) but never a photo, in any form.
"""
from __future__ import annotations

import base64
import datetime as dt
import getpass
import logging
import math
import random
import tempfile
import threading

import paho.mqtt.client as mqtt
import pytest

from hall_central.service import CentralService
from hall_common import privacy
from hall_demo.broker import Broker, free_port
from hall_demo.hub import SimHub
from kiosk import config, logs
from kiosk.runtime import Runtime
from kiosk.trust.payload import id_check_char
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

SESSIONS = 16
_RARE = "龘靐齉爩麤鬱纛灪鱻驫躞鼉鸞"


def canary(i: int) -> dict:
    """A canary citizen: a valid, unique ID number, a unique name and address."""
    birth = dt.date(1961, 3, 7) + dt.timedelta(days=97 * i)
    first17 = f"410122{birth:%Y%m%d}{700 + i:03d}"
    name = "龘" + _RARE[i % len(_RARE)] + _RARE[(i // len(_RARE) + 3) % len(_RARE)] + "雀"
    return {"id_number": first17 + id_check_char(first17), "name": name, "sex": "M" if (700 + i) % 2 else "F",
            "nation": "01", "birth_date": birth.isoformat(), "address": f"河南省郑州市中牟县金丝雀路{1000 + i}号院",
            "authority": "郑州市公安局中牟分局", "valid_from": "2020-01-01", "valid_to": "2040-01-01",
            # The card's photo (1,024 WLT bytes): unique per canary, so any copy of it can be found.
            "photo": random.Random(1000 + i).randbytes(1024)}


def b64_forms(value: bytes) -> list[bytes]:
    """The Base64 text of ``value`` at each of the 3 byte alignments, minus the edge characters."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + value)
        # Only the characters whose 6 bits all come from ``value`` (not the prefix, not padding).
        start, end = math.ceil(8 * k / 6), (8 * (k + len(value))) // 6
        core = enc[start:end]
        if len(core) >= 8:
            out += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return out


def photo_needles(c: dict) -> dict[str, bytes]:
    """A 48-byte stretch of the canary's photo, raw, as hex and as Base64 (any copy contains one)."""
    part = c["photo"][500:548]
    out = {"photo/raw": part, "photo/hex": part.hex().encode(), "photo/HEX": part.hex().upper().encode()}
    out.update({f"photo/base64-{n}": form for n, form in enumerate(b64_forms(part))})
    return out


def needles(c: dict) -> dict[str, bytes]:
    """Every searched form of a canary's ID number, name, address and photo."""
    out = dict(photo_needles(c))
    for field in ("id_number", "name", "address"):
        text = c[field]
        for enc in ("utf-8", "gb18030", "utf-16-le"):
            raw = text.encode(enc)
            out[f"{field}/{enc}"] = raw
            for n, form in enumerate(b64_forms(raw)):
                out[f"{field}/{enc}/base64-{n}"] = form
    return out


@pytest.fixture
def logfile(tmp_path):
    path = tmp_path / "logs" / "kiosk.jsonl"
    path.parent.mkdir()
    stream = open(path, "w", encoding="utf-8")
    handler = logs.make_handler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    stream.close()


def test_no_canary_survives_in_any_file(tmp_path, logfile, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    # Same user as the test: mosquitto started as root would switch users and fail to write its db.
    broker = Broker(workdir=tmp_path / "broker", persistence=True,
                    extra_conf=f"log_type all\nuser {getpass.getuser()}\n").start()
    central = CentralService(broker.url, str(tmp_path / "central" / "central.db"))
    (tmp_path / "central").mkdir()
    central.start()
    cfg = config.from_dict({
        "terminal": {"id": "ZM-CANARY-01", "hall_code": "H410100", "region": {"city": "410100", "county": "410122"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": broker.url},
        "devices": {
            "idcard": {"driver": "idcard.sam-serial", "url": str(tmp_path / "dev" / "idcard.pty"),
                       "options": {"poll_interval_s": 0.05}},
            "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"},
        },
    })
    # The spy: every message on every topic, as the broker delivers it.
    seen: list[bytes] = []
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="canary-spy", protocol=mqtt.MQTTv5)
    spy.on_message = lambda client, userdata, msg: seen.append(msg.topic.encode() + b" " + msg.payload)
    spy.on_connect = lambda client, *a: client.subscribe("#", qos=1)
    spy.connect("127.0.0.1", broker.port)
    spy.loop_start()
    hub = SimHub(cfg, ticket_dir=tmp_path / "tickets").start()
    runtime = Runtime(cfg).start()
    citizens = [canary(i) for i in range(SESSIONS)]
    printed = 0
    try:
        wait_for(lambda: runtime.gateway.online, 15, "the gateway to connect")
        # The walk-in lines come from the catalogue, synced after the connection (a fresh state
        # directory has no cache): at load ~20 the first walk-in came before it (no lines).
        wait_for(lambda: runtime.gateway.catalogue.lines(), 30, "the catalogue's first sync")
        started = threading.Event()
        runtime.bus.subscribe("session.started", lambda e: started.set())
        s = runtime.services
        for i, c in enumerate(citizens):
            started.clear()
            if i % 4 == 3:  # killed mid-read: half a frame, then the card is gone
                hub.idcard.pull_mid_read()
                hub.place_card(c)
                wait_for(lambda: not hub.idcard.has_card, 10, "the card to be pulled mid-read")
                hub.remove_card()
                assert s.sessions.citizen is None
                continue
            hub.place_card(c)
            assert started.wait(15), f"canary {i} was not read"
            s.checkin.appointments_today()  # citizen.lookup (ID number and name to the central) first
            assert s.sessions.citizen.citizen_ref
            if i % 4 == 1:
                ticket = s.walkin.take(s.walkin.lines()[0]["code"])
                assert s.walkin.print_ticket(ticket).printed
                printed += 1
            hub.remove_card()
            wait_for(lambda: s.sessions.citizen is None, 10, "the session to end")
        wait_for(lambda: len(hub.tickets()) >= printed, 10, "the printer simulator to render")
    finally:
        runtime.stop()
        hub.stop()
        central.stop()
        spy.loop_stop()
        spy.disconnect()
        broker.stop()  # persistence: mosquitto writes its database on exit
    logging.getLogger().handlers[-1].flush()

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert any(n.endswith("-wal") or n.endswith(".db") for n in names)  # the stores were really there
    assert "mosquitto.db" in names and "kiosk.jsonl" in names and printed and hub.tickets()
    assert logfile.stat().st_size > 0
    hits = []
    for c in citizens:
        for label, needle in needles(c).items():
            for p in files:
                if needle in p.read_bytes():
                    hits.append(f"{p.relative_to(tmp_path)}: {label} of {c['id_number'][:3]}")
    assert not hits, "\n".join(hits[:40])
    # The data really flowed: the authority keeps the masked names (and nothing more).
    db = b"".join(p.read_bytes() for p in (tmp_path / "central").glob("central.db*"))
    assert sum(privacy.mask_name(c["name"]).encode() in db for c in citizens) >= SESSIONS // 2
    # The network never carried a photo; the spy did see the ID numbers (citizen.lookup's body).
    traffic = b"\n".join(seen)
    assert sum(c["id_number"].encode() in traffic for c in citizens) >= SESSIONS // 2
    photo_hits = [f"{label} of canary {i}" for i, c in enumerate(citizens)
                  for label, needle in photo_needles(c).items() if needle in traffic]
    assert not photo_hits, photo_hits[:10]
    # Control: the search finds a canary when one is there (masked forms are what is allowed).
    probe = tmp_path / "probe.bin"
    probe.write_bytes(b"xx" + base64.b64encode(b"A" + citizens[0]["name"].encode("gb18030")) + b"yy")
    assert any(n in probe.read_bytes() for n in needles(citizens[0]).values())
