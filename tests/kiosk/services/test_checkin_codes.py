"""Check-in with a booking slip's code, on real parts: the central service signs the code for the
booking terminal's hall; the terminal verifies it offline against its pinned root and key set;
forged, foreign-hall and unsigned codes are refused before anything is sent."""
from __future__ import annotations

import json

import pytest

from hall_central.keys import CentralKeys
from hall_central.seed import demo_citizens
from hall_central.service import CentralService
from kiosk import config
from kiosk.network.errors import Rejected
from kiosk.runtime import Runtime
from kiosk.services.checkin import UnknownCode
from kiosk.services.session import Citizen
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def _runtime(tmp_path, broker, keys, hall_code, name):
    (tmp_path / f"{name}-keyset.json").write_text(json.dumps(keys.keyset()))
    cfg = config.from_dict({
        "terminal": {"id": f"ZM-{name}", "hall_code": hall_code, "region": {"city": "410100"}},
        "runtime": {"state_dir": str(tmp_path / name)},
        "network": {"broker": broker.url},
        "trust": {"root_key": keys.root_public, "keyset_file": str(tmp_path / f"{name}-keyset.json")},
    })
    rt = Runtime(cfg, devices={}).start()
    wait_for(lambda: rt.gateway.online, 15, "the gateway to connect")
    return rt


def test_signed_slip_codes_checked_offline_for_this_hall(tmp_path, broker):
    keys = CentralKeys(tmp_path / "keys")
    central = CentralService(broker.url, str(tmp_path / "central.db"), signer=keys).start()
    here = _runtime(tmp_path, broker, keys, "H410122203", "HERE-0001")
    try:
        s = here.services
        c = demo_citizens()[2]
        s.sessions.begin(Citizen(id_number=c["id_number"], name=c["name"], source="idcard"))
        assert s.guide.refresh()
        item = s.guide.items()[0]["code"]
        day = s.booking.days()[0]
        slot = next(x for x in s.booking.slots(item, day) if x["free"] > 0)
        booked = s.booking.book(item, slot["slot_id"])
        code = booked["checkin_code"]
        assert code.startswith("KQ1:")

        # Verified offline, then sent: the central service answers (the slot is on a later day).
        with pytest.raises(Rejected) as early:
            s.checkin.check_in_code(code)
        assert early.value.error_code == "too_early"

        forged = code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:]
        for bad in (forged, code[:40], "KIOSK1:APPT:" + booked["appointment_id"], "KQ1:" + "0" * 60):
            with pytest.raises(UnknownCode):
                s.checkin.check_in_code(bad)
    finally:
        here.stop()

    # The same genuine code at a terminal of another hall: refused (audience = the booking hall).
    there = _runtime(tmp_path, broker, keys, "H410184101", "THERE-0001")
    try:
        with pytest.raises(UnknownCode, match="refused"):
            there.services.checkin.check_in_code(code)
    finally:
        there.stop()
        central.stop()
