"""The mobile staff flows (kiosk.services.mobile) on real parts: a real gateway and sealed outbox
(offline: not started), the real session manager and catalogue cache, synthetic camera frames."""
from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from firmware_bridge.camera.synthetic import FrameSpec, render
from hall_central import seed
from kiosk.clock import Clock
from kiosk.events import EventBus
from kiosk.network.gateway import Gateway
from kiosk.network.sealed import Sealer, is_sealed, load_key_file
from kiosk.pin import hash_pin
from kiosk.services import mobile as M
from kiosk.services.flows import GuideService
from kiosk.services.session import Citizen, SessionManager

PIN_HASH = hash_pin("2468", iterations=1000)  # few iterations: the test is about the flow, not PBKDF2
STAFF = [{"id": "S001", "name": "李建国", "pin_hash": PIN_HASH}, {"id": "S002", "name": "王芳", "pin_hash": ""}]


@pytest.fixture
def parts(tmp_path):
    bus = EventBus()
    gw = Gateway("ZM-MOB-S1", "mqtt://127.0.0.1:1", ["410100"], tmp_path / "state", bus,
                 sealer=Sealer(load_key_file(tmp_path / "state" / "seal.key")), upload_window=2)
    cat = seed.catalogue()
    gw.catalogue.store({"version": 1, "unchanged": False, **{k: cat[k] for k in ("categories", "departments", "lines", "items")}})
    clock = Clock("Asia/Shanghai")
    sessions = SessionManager(bus, clock, timeout_s=600, elder_timeout_s=900)
    svc = M.MobileService(gw, sessions, GuideService(gw), bus, clock, staff=STAFF, chunk_bytes=16 * 1024,
                          photo_max_bytes=60_000)
    yield svc
    svc.close()
    sessions.close()
    gw.outbox.close()
    gw.catalogue.close()


def _citizen() -> Citizen:
    c = seed.synthetic_citizen(77)
    return Citizen(id_number=c["id_number"], name=c["name"], source="idcard")


def _document() -> np.ndarray:
    """A sharp, well-lit frame: the camera simulator's phone screen with a code (a 'document')."""
    return render(FrameSpec("SQ2026031841012250001 申请表", module_px=8, center=(0.5, 0.5), seed=3))


def test_pin_sign_in_and_lockout(parts):
    with pytest.raises(M.SignInFailed):
        parts.sign_in_pin("S001", "0000", now_s=0)
    with pytest.raises(M.SignInFailed):
        parts.sign_in_pin("S999", "2468", now_s=1)  # unknown number: same answer
    with pytest.raises(M.SignInFailed):
        parts.sign_in_pin("S002", "", now_s=2)       # card-only staff have no PIN
    with pytest.raises(M.SignInFailed):
        parts.sign_in_pin("S001", "1111", now_s=3)  # the 4th failure

    with pytest.raises(M.PinLocked) as e:
        parts.sign_in_pin("S001", "1111", now_s=5)
    assert e.value.seconds > 0
    with pytest.raises(M.PinLocked):  # even the right PIN waits for the lock
        parts.sign_in_pin("S001", "2468", now_s=6)
    staff = parts.sign_in_pin("S001", "2468", now_s=1000)
    assert staff.staff_id == "S001" and staff.how == "pin" and staff.masked_name == "李*国"


def test_staff_card_signs_in_through_the_bus(parts):
    bus = parts.bus
    failed = []
    bus.subscribe("mobile.signin_failed", lambda e: failed.append(e.data))
    bus.publish("smartcard.read", {"staff_number": "S002", "name": "王芳", "valid_until": dt.date(2000, 1, 1)},
                source="smartcard", profile="staff")
    assert parts.staff is None and "expired" in failed[-1]["reason"]
    bus.publish("smartcard.read", {"staff_number": "S404", "name": "x"}, source="smartcard", profile="staff")
    assert parts.staff is None and len(failed) == 2
    bus.publish("smartcard.read", {"social_security_number": "1", "name": "x"}, source="smartcard",
                profile="social-security")
    assert parts.staff is None and len(failed) == 2  # a citizen's card is not a staff card
    bus.publish("smartcard.read", {"staff_number": "S002", "name": "王芳", "valid_until": dt.date(2099, 1, 1)},
                source="smartcard", profile="staff")
    assert parts.staff.staff_id == "S002" and parts.staff.how == "card"


def test_chunks_cover_the_data_exactly():
    data = bytes(range(256)) * 300
    bodies = M.chunk_bodies(data, "U1", 16 * 1024)
    import base64
    import hashlib
    assert [b["index"] for b in bodies] == list(range(len(bodies))) and bodies[0]["total"] == len(bodies)
    assert b"".join(base64.b64decode(b["data_b64"]) for b in bodies) == data
    assert {b["sha256"] for b in bodies} == {hashlib.sha256(data).hexdigest()}


def test_door_to_door_application_is_queued_sealed_offline(parts):
    with pytest.raises(M.NotReady):
        parts.start("LL001")  # nobody signed in
    parts.sign_in_pin("S001", "2468", now_s=0)
    with pytest.raises(M.NotReady):
        parts.start("LL001")  # no citizen yet
    citizen = _citizen()
    masked = citizen.masked_name
    parts.sessions.begin(citizen)
    who = parts.acting_for()
    assert who["staff"] == "李*国" and who["citizen"] == citizen.masked_name and citizen.name not in str(who)
    draft = parts.start("LL001")
    assert [m.name for m in draft.materials] == ["申请人居民身份证", "近期一寸白底免冠彩色照片"]
    with pytest.raises(M.PhotoRejected) as e:
        parts.photograph(0, frame=cv2.GaussianBlur(_document(), (0, 0), 6))
    assert e.value.check.reason == "blurred"
    check = parts.photograph(0, frame=_document())
    assert check.ok and draft.materials[0].provided
    with pytest.raises(M.NotReady):
        parts.submit()  # material 1 not checked
    parts.set_provided(1, False)
    with pytest.raises(M.NotReady):
        parts.submit()  # no consent
    parts.give_consent("tap")
    photo_len = len(draft.materials[0].photo)
    local_id = parts.submit()

    assert parts.sessions.citizen is None and parts.draft is None and draft.materials[0].photo is None
    rows = parts.gateway.outbox.pending()
    n_chunks = -(-photo_len // (16 * 1024))
    assert [r.op for r in rows] == ["upload.chunk"] * n_chunks + ["application.submit"]
    assert all(is_sealed(r.body) for r in rows)
    body = parts.gateway.outbox.open_body(rows[-1])
    assert body["materials"] == [{"name": "申请人居民身份证", "provided": True, "upload_id": f"{local_id}.p0"},
                                 {"name": "近期一寸白底免冠彩色照片", "provided": False}]
    assert body["staff"] == {"staff_id": "S001"} and body["consent"]["method"] == "tap"
    queued = parts.queued()
    assert len(queued) == 1
    q = queued[0]
    assert (q.local_id, q.item_name, q.chunks_left, q.submit_waiting) == (local_id, "老年优待证办理", n_chunks, True)
    assert q.citizen == masked and "*" in masked

    # The acknowledgement of the application moves it to "synced" (as the gateway reports it).
    parts.bus.publish("network.result", {"id": rows[-1].id, "op": "application.submit", "ok": True,
                                         "result": {"application_no": "SQ202603184101220005001"}}, source="network")
    assert parts.synced == [{"local_id": local_id, "application_no": "SQ202603184101220005001",
                             "item_name": "老年优待证办理"}]


def test_sign_out_ends_the_citizen_session_and_the_draft(parts):
    parts.sign_in_pin("S001", "2468", now_s=0)
    parts.sessions.begin(_citizen())
    parts.start("GA002")
    parts.sign_out()
    assert parts.staff is None and parts.draft is None and parts.sessions.citizen is None
