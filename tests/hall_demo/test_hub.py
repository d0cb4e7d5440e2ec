"""`kiosk sim` drives every device's simulator, and the runtime's real drivers see it: ID card on
a pty, serial scanner on a pty, MJPEG network camera, PC/SC card through pcscd + vpcd, ESC/POS
printer over TCP. Commands go through the hub's control socket, as from another shell."""
from __future__ import annotations

import threading

import pytest

from hall_central.seed import demo_citizens
from hall_demo.broker import free_port
from hall_demo.hub import SimHub, control_path
from kiosk import config
from kiosk.cli import main
from kiosk.devices import registry
from kiosk.events import EventBus
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(tmp_path):
    cfg = config.from_dict({
        "terminal": {"id": "ZM-HUB-0001", "region": {"city": "410100"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "devices": {
            "idcard": {"driver": "idcard.sam-serial", "url": str(tmp_path / "idcard.pty"),
                       "options": {"poll_interval_s": 0.05}},
            "scanner": {"driver": "scanner.serial", "url": str(tmp_path / "scanner.pty")},
            "camera": {"driver": "camera.opencv", "url": f"http://127.0.0.1:{free_port()}/stream.mjpg"},
            "smartcard": {"driver": "smartcard.pcsc", "url": "", "options": {"poll_interval_s": 0.1}},
            "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"},
        },
    })
    path = tmp_path / "kiosk.toml"
    path.write_text(config.dump_toml(cfg.data), encoding="utf-8")
    hub = SimHub(cfg, ticket_dir=tmp_path / "tickets").start()
    hub.serve(control_path(cfg))
    bus = EventBus()
    seen: dict[str, list] = {}
    lock = threading.Lock()

    def record(e):
        with lock:
            seen.setdefault(e.topic, []).append(e.data)
    bus.subscribe("*", record)
    devices = {role: registry.build(role, section, bus) for role, section in cfg.devices().items()}
    for d in devices.values():
        d.start()
    yield str(path), hub, devices, seen
    for d in devices.values():
        d.stop()
    hub.stop()


def test_every_device_driven_through_kiosk_sim(rig, capsys):
    path, hub, devices, seen = rig
    citizen = demo_citizens()[1]

    assert main(["sim", "--config", path, "place-card", "--citizen", "1"]) == 0
    identity = wait_for(lambda: seen.get("idcard.identity"), 15, "the ID card read")[0]
    assert identity.id_number == citizen["id_number"]

    assert main(["sim", "--config", path, "scan", "SQ202611244101840001"]) == 0
    scan = wait_for(lambda: seen.get("scanner.scan"), 10, "the scanner read")[0]
    assert scan.kind == "application_number"

    assert main(["sim", "--config", path, "show-code", "SQ202611244101840002"]) == 0
    shot = wait_for(lambda: seen.get("camera.scan"), 30, "the camera decode")[0]
    assert shot.value == "SQ202611244101840002"

    assert main(["sim", "--config", path, "insert-smartcard", "--citizen", "1"]) == 0
    card = wait_for(lambda: seen.get("smartcard.read"), 20, "the smart card read")[0]
    assert card["social_security_number"] == citizen["id_number"] and card["name"] == citizen["name"]
    assert main(["sim", "--config", path, "remove-smartcard"]) == 0
    wait_for(lambda: seen.get("smartcard.removed"), 10, "the smart card removal")

    assert main(["sim", "--config", path, "paper-out", "on"]) == 0
    assert devices["printer"].status().paper_out
    assert main(["sim", "--config", path, "paper-out", "off"]) == 0
    assert not devices["printer"].status().paper_out

    capsys.readouterr()
    assert main(["sim", "--config", path, "status"]) == 0
    out = capsys.readouterr().out
    for role in ("idcard", "printer", "scanner", "camera", "smartcard"):
        assert f'"{role}"' in out
