"""`kiosk doctor` against real parts: all ok with the broker and simulators up; a clear FAIL with a
hint (and exit 1) when the broker is stopped or the printer is out of paper."""
from __future__ import annotations

import pytest

from hall_demo.hub import SimHub, control, control_path
from kiosk import config
from kiosk.cli import main
from hall_demo.broker import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def cfg_file(tmp_path, broker):
    cfg = config.from_dict({
        "terminal": {"id": "ZM-DOC-0001", "region": {"city": "410100", "county": "410122"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": broker.url},
        "devices": {
            "idcard": {"driver": "idcard.sam-serial", "url": str(tmp_path / "idcard.pty")},
            "printer": {"driver": "printer.escpos", "url": f"tcp://127.0.0.1:{free_port()}"},
        },
    })
    path = tmp_path / "kiosk.toml"
    path.write_text(config.dump_toml(cfg.data), encoding="utf-8")
    hub = SimHub(cfg).start()
    hub.serve(control_path(cfg))
    yield path, hub, broker
    hub.stop()


def test_all_checks_ok_then_broker_stopped(cfg_file, capsys):
    path, hub, broker = cfg_file
    assert main(["doctor", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == ["ok"] * len(out.splitlines())
    for name in ("config", "state_dir", "broker", "device:idcard", "device:printer", "cjk_font"):
        assert name in out

    broker.stop()
    assert main(["doctor", "--config", str(path)]) == 1
    line = next(l for l in capsys.readouterr().out.splitlines() if " broker " in l)
    assert line.startswith("FAIL") and "start the broker" in line


def test_printer_paper_out_fails_with_hint_via_sim_control(cfg_file, capsys):
    path, hub, broker = cfg_file
    cfg = config.load(path)
    assert control(control_path(cfg), {"op": "paper-out", "on": True})["ok"]
    assert main(["doctor", "--config", str(path)]) == 1
    line = next(l for l in capsys.readouterr().out.splitlines() if "device:printer" in l)
    assert line.startswith("FAIL") and "paper_out" in line and "load paper" in line
    assert main(["sim", "--config", str(path), "paper-out", "off"]) == 0
    assert main(["doctor", "--config", str(path)]) == 0


def test_broken_config_is_one_clear_failure(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[terminal]\nid = "ZM-1"\n', encoding="utf-8")
    assert main(["doctor", "--config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL config") and "terminal.region.city" in out


def test_technician_probes_one_device_alone(tmp_path, capsys):
    """`kiosk doctor --device ROLE --url URL --read / --test-print`: one JSON line, masked, exit code."""
    import json
    import threading

    from firmware_bridge.escpos.simulator import PrinterSimulator
    from firmware_bridge.idcard.simulator import IdCardSimulator
    from firmware_bridge.scanner.simulator import ScannerSimulator
    from hall_central.seed import demo_citizens
    from hall_demo.hub import identity_from_citizen

    with IdCardSimulator(link=str(tmp_path / "idcard")) as card:
        card.place(identity_from_citizen(demo_citizens()[0]))
        assert main(["doctor", "--device", "idcard", "--url", str(tmp_path / "idcard"), "--read",
                     "--timeout", "15"]) == 0
        line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert line["ok"] and line["result"]["name"] == "王*兰"
        assert demo_citizens()[0]["id_number"] not in json.dumps(line, ensure_ascii=False)

    with ScannerSimulator(link=str(tmp_path / "scanner")) as scanner:
        timer = threading.Timer(1.0, scanner.scan, args=("SQ202611244101840001",))
        timer.start()
        assert main(["doctor", "--device", "scanner", "--url", str(tmp_path / "scanner"), "--read",
                     "--timeout", "15"]) == 0
        timer.join()
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"]
        assert main(["doctor", "--device", "scanner", "--url", str(tmp_path / "scanner"), "--read",
                     "--timeout", "0.5"]) == 2
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]["code"] == "device.timeout"

    printer = PrinterSimulator().start()
    try:
        assert main(["doctor", "--device", "printer", "--url", printer.url, "--test-print"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"]
        assert len(printer.tickets) == 1 and "测试" in printer.tickets[0].text
        printer.set_paper_out(True)
        assert main(["doctor", "--device", "printer", "--url", printer.url, "--test-print"]) == 2
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]["code"] == "printer.paper_out"
    finally:
        printer.stop()
