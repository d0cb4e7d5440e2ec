"""Sealed outbox rows (kiosk.network.sealed): personal data and photos encrypted at rest while
queued, deleted on the central service's acknowledgement, photo chunks resumed after a drop.

The end-to-end tests run a real Mosquitto, the reference central service (in process, SQLite) and
the real gateway; they search the outbox database and its WAL for the plaintext byte for byte.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from hall_central.clock import TZ, FixedClock
from hall_central.seed import synthetic_citizen
from hall_central.service import CentralService
from kiosk.events import EventBus
from kiosk.network.errors import PersonalDataRefused
from kiosk.network.gateway import Gateway
from kiosk.network.outbox import Outbox
from kiosk.network.sealed import KEY_BYTES, Sealer, SealError, is_sealed, load_key_file, set_keystore
from kiosk.services.mobile import chunk_bodies

TERMINAL = "ZM-MOB-T1"
T0 = dt.datetime(2026, 3, 18, 10, 7, tzinfo=TZ)


def _files(state_dir: Path) -> bytes:
    """Every byte of the outbox database files (main file, WAL, shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(state_dir.glob("outbox.sqlite3*")))


def _needles(citizen: dict, photo: bytes, bodies: list[dict]) -> dict[str, bytes]:
    """The plaintext in every form a leak could take."""
    out = {"id utf-8": citizen["id_number"].encode(), "name utf-8": citizen["name"].encode(),
           "name gb18030": citizen["name"].encode("gb18030"), "name utf-16le": citizen["name"].encode("utf-16le"),
           "photo bytes": photo[100:140]}
    for b in bodies:
        out[f"chunk {b['index']} base64"] = b["data_b64"][40:100].encode()
    return out


def _application(citizen: dict, upload_id: str) -> dict:
    return {"citizen": {"id_number": citizen["id_number"], "name": citizen["name"]}, "item_code": "LL001",
            "materials": [{"name": "居民身份证", "provided": True, "upload_id": upload_id}],
            "consent": {"given": True, "method": "tap", "at": "2026-03-18T02:07:00Z"}, "staff": {"staff_id": "S001"}}


# -- unit: the sealer and the key -----------------------------------------------------------------
def test_seal_open_roundtrip_and_binding():
    s = Sealer(os.urandom(KEY_BYTES))
    body = {"citizen": {"id_number": "410122199001011234", "name": "张三丰"}}
    stored = s.seal(body, "row-1", "application.submit")
    assert is_sealed(stored) and "4101" not in stored["sealed"] and "张" not in stored["sealed"]
    assert s.open(stored, "row-1", "application.submit") == body
    with pytest.raises(SealError):  # moved to another row
        s.open(stored, "row-2", "application.submit")
    with pytest.raises(SealError):  # another operation
        s.open(stored, "row-1", "upload.chunk")
    with pytest.raises(SealError):  # another key
        Sealer(os.urandom(KEY_BYTES)).open(stored, "row-1", "application.submit")
    token = stored["sealed"]
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(SealError):  # tampered
        s.open({"sealed": flipped}, "row-1", "application.submit")
    with pytest.raises(SealError):
        s.open({"sealed": "v9.xx"}, "row-1", "application.submit")


def test_key_file_is_created_private_and_checked(tmp_path):
    key = load_key_file(tmp_path / "k" / "seal.key")
    assert len(key) == KEY_BYTES
    assert (tmp_path / "k" / "seal.key").stat().st_mode & 0o777 == 0o600
    assert load_key_file(tmp_path / "k" / "seal.key") == key  # the same key next time
    (tmp_path / "short.key").write_bytes(b"x" * 5)
    with pytest.raises(SealError):
        load_key_file(tmp_path / "short.key")
    with pytest.raises(SealError):
        load_key_file(tmp_path / "missing.key", create=False)
    with pytest.raises(SealError):
        Sealer(b"short")


def test_keystore_hook_comes_before_the_key_file(tmp_path):
    from kiosk import config
    cfg = config.from_dict({"terminal": {"id": TERMINAL, "region": {"city": "410100"}},
                            "mobile": {"seal_key_file": str(tmp_path / "file.key")}})
    ks_key = os.urandom(KEY_BYTES)
    set_keystore(lambda: ks_key)
    try:
        sealed = Sealer.from_config(cfg).seal({"a": 1}, "r", "op")
    finally:
        set_keystore(None)
    assert Sealer(ks_key).open(sealed, "r", "op") == {"a": 1}
    assert not (tmp_path / "file.key").exists()  # the keystore's key was used, no file made
    assert Sealer.from_config(cfg) is not None and (tmp_path / "file.key").exists()


def test_outbox_refuses_unsealed_id_numbers_and_seals_without_a_key_never(tmp_path):
    body = _application(synthetic_citizen(3), "U1")
    plain = Outbox(tmp_path / "a" / "outbox.sqlite3")
    try:
        with pytest.raises(PersonalDataRefused):
            plain.put("r1", "application.submit", "req", "k1", body)
        with pytest.raises(PersonalDataRefused):  # no key: refused, never stored in clear
            plain.put("r1", "application.submit", "req", "k1", body, sealed=True)
        assert plain.depth() == 0
    finally:
        plain.close()
    ob = Outbox(tmp_path / "b" / "outbox.sqlite3", sealer=Sealer(os.urandom(KEY_BYTES)))
    try:
        row = ob.put("r1", "application.submit", "req", "k1", body, sealed=True)
        stored = ob.pending()[0]
        assert is_sealed(stored.body) and ob.open_body(stored) == body
        assert row.id == "r1"
    finally:
        ob.close()


# -- end to end: real broker, real central service --------------------------------------------------
@pytest.fixture
def central(broker, tmp_path):
    svc = CentralService(broker.url, str(tmp_path / "central.db"), clock=FixedClock(start=T0), instance="m1").start()
    yield svc
    svc.stop()


def _gateway(broker, state_dir: Path, bus: EventBus, window: int) -> Gateway:
    # retry_after_s=1: a request sent while the central service was still reconnecting to the
    # restarted broker is lost (it keeps no broker session) and resent a second later.
    return Gateway(TERMINAL, broker.url, ["410100"], state_dir, bus, request_timeout_s=5.0, retry_after_s=1.0,
                   reconnect_min_s=0.05, reconnect_max_s=0.3, sealer=Sealer(load_key_file(state_dir / "seal.key")),
                   upload_window=window)


def _watch_depth(bus: EventBus) -> tuple[threading.Condition, dict]:
    cond = threading.Condition()
    seen: dict[str, Any] = {"depth": None, "results": []}

    def on(event):
        with cond:
            if event.topic == "network.outbox":
                seen["depth"] = event.data["depth"]
            elif event.topic == "network.result":
                seen["results"].append(event.data)
            cond.notify_all()
    bus.subscribe("network.outbox", on)
    bus.subscribe("network.result", on)
    bus.subscribe("network.offline", on)
    return cond, seen


def test_queued_photos_and_identity_are_encrypted_at_rest_and_deleted_on_ack(broker, central, tmp_path):
    citizen = synthetic_citizen(41)
    photo = hashlib.sha512(b"seed").digest() * 2500  # ~160 KB of "JPEG": 4 chunks of 48 KiB
    bodies = chunk_bodies(photo, "M1.p0", 48 * 1024)
    assert len(bodies) == 4
    state = tmp_path / "state"
    bus = EventBus()
    cond, seen = _watch_depth(bus)
    gw = _gateway(broker, state, bus, window=2)  # not started yet: offline, everything waits
    try:
        for b in bodies:
            gw.submit("upload.chunk", b, idem=f"M1.p0.c{b['index']}", sealed=True)
        gw.submit("application.submit", _application(citizen, "M1.p0"), idem="M1.submit", sealed=True)
        assert gw.outbox_depth() == 5
        on_disk = _files(state)
        for what, needle in _needles(citizen, photo, bodies).items():
            assert needle not in on_disk, f"{what} found in the outbox files while queued"
        tokens = [r.body["sealed"].encode() for r in gw.outbox.pending()]
        assert all(t[20:80] in on_disk for t in tokens)  # what is there is the ciphertext

        gw.start()
        with cond:
            assert cond.wait_for(lambda: seen["depth"] == 0 and any(r["op"] == "application.submit"
                                                                    for r in seen["results"]), 20)
        submit = next(r for r in seen["results"] if r["op"] == "application.submit")
        assert submit["ok"] and submit["result"]["materials_received"] == 1
    finally:
        gw.stop()  # closes the outbox (checkpoint + truncate of the WAL)
    on_disk = _files(state)
    for what, needle in _needles(citizen, photo, bodies).items():
        assert needle not in on_disk, f"{what} found after the acknowledgement"
    for t in tokens:
        assert t[20:80] not in on_disk, "a sealed row's bytes survived its deletion"
    # The central service is the authority: it keeps the upload and the application, not the ID number.
    up = central.store.upload(TERMINAL, "M1.p0")
    assert up is not None and up["sha256"] == hashlib.sha256(photo).hexdigest()
    db = b"".join(p.read_bytes() for p in tmp_path.glob("central.db*"))
    assert citizen["id_number"].encode() not in db and citizen["name"].encode() not in db


def test_a_drop_mid_upload_resumes_without_resending_acknowledged_chunks(broker, tmp_path):
    citizen = synthetic_citizen(42)
    photo = os.urandom(5 * 48 * 1024 + 100)  # 6 chunks
    bodies = chunk_bodies(photo, "M2.p0", 48 * 1024)
    bus = EventBus()
    cond, seen = _watch_depth(bus)
    dropped = threading.Event()

    def drop_after_first_chunk(event):
        # Runs on the gateway's worker as the first chunk is acknowledged, before the next leaves.
        if event.data.get("op") == "upload.chunk" and not dropped.is_set():
            dropped.set()
            broker.stop()
    bus.subscribe("network.result", drop_after_first_chunk)
    db = str(tmp_path / "central.db")
    central = CentralService(broker.url, db, clock=FixedClock(start=T0), instance="m1").start()
    gw = _gateway(broker, tmp_path / "state", bus, window=1)
    try:
        # Queued before the link comes up, so only the gateway decides what leaves when.
        for b in bodies:
            gw.submit("upload.chunk", b, idem=f"M2.p0.c{b['index']}", sealed=True)
        gw.submit("application.submit", _application(citizen, "M2.p0"), idem="M2.submit", sealed=True)
        gw.start()
        assert dropped.wait(10)
        with cond:
            assert cond.wait_for(lambda: not gw.online, 10)
        left = [r.idem for r in gw.outbox.pending()]
        assert left == [f"M2.p0.c{i}" for i in range(1, 6)] + ["M2.submit"]  # chunk 0 is done
        assert central.stats["requests"] == 1
        # The terminal is switched off in the dead zone and on again later (a new gateway on the same
        # outbox and key); the central service comes back as a fresh instance on the same database.
        # Why not the same gateway: paho keeps the QoS 1 publish it tried on the dead link and sends
        # it again beside our resend (PITFALLS.md): harmless (idempotent) but not countable here.
        gw.stop()
        central.stop()
        broker.start()
        central = CentralService(broker.url, db, clock=FixedClock(start=T0), instance="m2").start()
        gw = _gateway(broker, tmp_path / "state", bus, window=1)
        assert gw.outbox_depth() == 6
        gw.start()
        with cond:
            assert cond.wait_for(lambda: seen["depth"] == 0 and any(r["op"] == "application.submit"
                                                                    for r in seen["results"]), 20)
    finally:
        gw.stop()
        central.stop()
    assert central.stats["replays"] == 0  # no acknowledged chunk was sent again
    assert central.stats["requests"] == 6  # chunks 1..5 and the application, each once
    submit = next(r for r in seen["results"] if r["op"] == "application.submit")
    assert submit["result"]["materials_received"] == 1
    no = submit["result"]["application_no"]
    from hall_central.stores import open_store
    store = open_store(db)
    try:
        assert store.upload(TERMINAL, "M2.p0")["size"] == len(photo)
        assert store.application(no)["item_code"] == "LL001"
        assert store.materials_of(no) == [{"name": "居民身份证", "provided": 1, "upload_id": "M2.p0"}]
    finally:
        store.close()


def test_central_rejects_a_corrupt_upload(broker, central, tmp_path):
    bodies = chunk_bodies(b"x" * 70000, "M3.p0", 48 * 1024)
    bodies[1]["data_b64"] = base64.b64encode(b"y" * 10).decode()  # a chunk that does not fit the hash
    bus = EventBus()
    cond, seen = _watch_depth(bus)
    gw = _gateway(broker, tmp_path / "state", bus, window=0)
    gw.start()
    try:
        for b in bodies:
            gw.submit("upload.chunk", b, idem=f"M3.p0.c{b['index']}", sealed=True)
        with cond:
            assert cond.wait_for(lambda: len(seen["results"]) == 2, 20)
    finally:
        gw.stop()
    assert sorted(r["ok"] for r in seen["results"]) == [False, True]
    assert central.store.upload(TERMINAL, "M3.p0") is None
