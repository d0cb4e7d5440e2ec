"""`kiosk doctor` against real parts: all ok with the broker and simulators up; a clear FAIL with a
hint (and exit 1) when the broker is stopped, the printer is out of paper, the disk is full or the
outbox corrupt or not writable; exit 2 and one line on stderr for what `kiosk run` would refuse."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from hall_demo.broker import free_port
from hall_demo.hub import SimHub, control, control_path
from kiosk import config, doctor
from kiosk.cli import main
from kiosk.network.outbox import Outbox
from tests.disk_faults import fill, immutable, overwrite, tiny_fs

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
    for name in ("config", "state_dir", "broker", "device:idcard", "device:printer", "cjk_font", "translations"):
        assert name in out

    broker.stop()
    assert main(["doctor", "--config", str(path)]) == 1
    line = next(ln for ln in capsys.readouterr().out.splitlines() if " broker " in ln)
    assert line.startswith("FAIL") and "start the broker" in line


def test_printer_paper_out_fails_with_hint_via_sim_control(cfg_file, capsys):
    path, hub, broker = cfg_file
    cfg = config.load(path)
    assert control(control_path(cfg), {"op": "paper-out", "on": True})["ok"]
    assert main(["doctor", "--config", str(path)]) == 1
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "device:printer" in ln)
    assert line.startswith("FAIL") and "paper_out" in line and "load paper" in line
    assert main(["sim", "--config", str(path), "paper-out", "off"]) == 0
    assert main(["doctor", "--config", str(path)]) == 0


def test_broken_config_is_one_clear_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[terminal]\nid = "ZM-1"\n', encoding="utf-8")
    assert main(["doctor", "--config", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("kiosk doctor: configuration error:") and "terminal.region.city" in err and str(bad) in err


def _plain_config(tmp_path, broker_url: str, **sections) -> Path:
    raw: dict[str, Any] = {"terminal": {"id": "ZM-DOC-0002", "region": {"city": "410100"}},
           "runtime": {"state_dir": str(tmp_path / "state")}, "network": {"broker": broker_url}}
    for key, value in sections.items():
        raw.setdefault(key, {}).update(value)
    path = tmp_path / "kiosk.toml"
    path.write_text(config.dump_toml(config.from_dict(raw).data), encoding="utf-8")
    return path


def _lines(out: str) -> dict[str, str]:
    return {line.split()[1]: line for line in out.splitlines()}


def test_doctor_refuses_what_run_refuses_production_profile(tmp_path, broker, capsys):
    path = _plain_config(tmp_path, broker.url, network={"profile": "production"})
    assert main(["doctor", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert _lines(out)["policy"].startswith("FAIL") and "plaintext" in _lines(out)["policy"]
    assert _lines(out)["broker"].startswith("ok")  # every other check still ran
    assert len(err.splitlines()) == 1 and err.startswith("kiosk doctor: `kiosk run` would refuse to start:")
    assert "production profile refused" in err and "trust.root_key" in err


def test_doctor_checks_free_space_integrity_and_writability(tmp_path, broker, capsys):
    state = tmp_path / "state"
    with tiny_fs(state, 4096):
        path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
        ob = Outbox(state / "outbox.sqlite3", dead_letter_after=1)
        ob.put("a", "checkin", "req", "k", {"appointment_id": "AP-1"})
        ob.put("b", "checkin", "req", "k2", {"appointment_id": "AP-2"})
        ob.record_failure("b", "unreadable answer")
        ob.close()
        assert main(["doctor", "--config", str(path)]) == 0
        lines = _lines(capsys.readouterr().out)
        assert lines["disk_space"].startswith("ok") and "MB free" in lines["disk_space"]
        assert lines["outbox"].startswith("ok") and "integrity ok, writable, 1 rows waiting" in lines["outbox"]
        assert lines["dead_letters"].startswith("warn") and "1 rows set aside" in lines["dead_letters"]

        filler = fill(state)
        assert main(["doctor", "--config", str(path)]) == 1
        line = _lines(capsys.readouterr().out)["disk_space"]
        assert line.startswith("FAIL") and "runtime.min_free_mb" in line and "free space" in line
        filler.unlink()

        with immutable(state / "outbox.sqlite3"):
            assert main(["doctor", "--config", str(path)]) == 1
            line = _lines(capsys.readouterr().out)["outbox"]
        assert line.startswith("FAIL") and "not writable" in line and "chattr -i" in line

        overwrite(state / "outbox.sqlite3", 0, b"\0" * 4096)
        damaged = (state / "outbox.sqlite3").read_bytes()
        assert main(["doctor", "--config", str(path)]) == 1
        line = _lines(capsys.readouterr().out)["outbox"]
        assert line.startswith("FAIL") and "corrupt" in line and "moves it aside" in line
        assert (state / "outbox.sqlite3").read_bytes() == damaged  # the doctor changes nothing


def test_a_full_disk_is_not_called_a_corrupt_outbox(tmp_path, broker, capsys):
    """Closed cleanly, the outbox has no -shm index, and SQLite cannot make one on a full disk. The
    doctor said "corrupt (disk I/O error) -> `kiosk run` moves it aside"; run refused "disk I/O error"."""
    state = tmp_path / "state"
    with tiny_fs(state, 1024):
        path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
        ob = Outbox(state / "outbox.sqlite3")
        ob.put("a", "checkin", "req", "k", {"appointment_id": "AP-1"})
        ob.close()
        fill(state)
        assert main(["doctor", "--config", str(path)]) == 1
        line = _lines(capsys.readouterr().out)["outbox"]
        assert line.startswith("FAIL") and "corrupt" not in line and "the disk is full" in line and "free space" in line


@pytest.mark.parametrize("culprit", ["outbox.sqlite3-wal", "outbox.sqlite3-shm", "outbox.sqlite3"])
def test_a_companion_that_is_no_file_or_a_link_to_nothing_is_named_by_doctor_and_run(tmp_path, broker, capsys,
                                                                                       culprit):
    """A cold try: a directory named outbox.sqlite3-wal (or the outbox a link to nothing): the doctor
    said "corrupt -> run moves it aside" (exit 1), or ok (-shm); run refused "unable to open
    database file" naming only the outbox, or started with its outbox read-only."""
    from kiosk.storage import StorageError
    state = tmp_path / "state"
    state.mkdir()
    ob = Outbox(state / "outbox.sqlite3")
    ob.put("a", "checkin", "req", "k", {"appointment_id": "AP-1"})
    ob.close()
    if culprit == "outbox.sqlite3":
        (state / culprit).unlink()
        (state / culprit).symlink_to(tmp_path / "unmounted" / "outbox.sqlite3")
    else:
        (state / culprit).mkdir()
    path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
    assert main(["doctor", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert _lines(out)["outbox"].startswith("FAIL") and "corrupt" not in _lines(out)["outbox"]
    assert len(err.splitlines()) == 1 and f"{state / culprit}:" in err
    with pytest.raises(StorageError) as e:  # what `kiosk run` meets: the same file named
        Outbox(state / "outbox.sqlite3")
    assert e.value.path == str(state / culprit) and e.value.kind == "cannot_open"


def test_no_inode_left_is_a_full_disk_for_doctor_and_run(tmp_path, broker, capsys):
    """A cold try: no inode left, plenty of bytes: the doctor said ok (200 MB free, the outbox "not
    created yet"); run refused "cannot open ... (not a directory), mounted read-write"."""
    from kiosk.storage import StorageError
    state = tmp_path / "state"
    with tiny_fs(state, 8192, inodes=8):
        n = 0
        while True:
            try:
                (state / f"f{n}").touch()
            except OSError:
                break
            n += 1
        path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
        assert main(["doctor", "--config", str(path)]) == 2
        out, err = capsys.readouterr()
        assert _lines(out)["disk_space"].startswith("FAIL") and "no free inode" in _lines(out)["disk_space"]
        assert len(err.splitlines()) == 1 and "the disk is full" in err
        with pytest.raises(StorageError) as e:
            Outbox(state / "outbox.sqlite3")
        assert e.value.kind == "full" and "inode" in e.value.reason


def test_an_empty_outbox_left_on_a_full_disk_is_a_refusal(tmp_path, broker, capsys):
    """A start on a full disk leaves a 0-byte outbox: the doctor said "integrity ok, writable"
    while run refused "disk full"."""
    state = tmp_path / "state"
    with tiny_fs(state, 256):
        (state / "outbox.sqlite3").touch()
        fill(state)
        path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
        assert main(["doctor", "--config", str(path)]) == 2
        out, err = capsys.readouterr()
        assert _lines(out)["outbox"].startswith("FAIL") and "cannot be created: the disk is full" in err


def test_a_corrupt_outbox_that_cannot_be_moved_aside_is_a_refusal(tmp_path, broker, capsys):
    """A cold try: corrupt and immutable, the doctor said "run moves it aside" (exit 1); run refused."""
    state = tmp_path / "state"
    state.mkdir()
    ob = Outbox(state / "outbox.sqlite3")
    ob.put("a", "checkin", "req", "k", {"appointment_id": "AP-1"})
    ob.close()
    overwrite(state / "outbox.sqlite3", 0, b"\0" * 4096)
    path = _plain_config(tmp_path, broker.url, runtime={"min_free_mb": 1})
    with immutable(state / "outbox.sqlite3"):
        assert main(["doctor", "--config", str(path)]) == 2
        out, err = capsys.readouterr()
        assert "cannot be moved aside" in _lines(out)["outbox"] and "chattr -i" in err and len(err.splitlines()) == 1
        from kiosk.storage import StorageError
        with pytest.raises(StorageError) as e:  # what `kiosk run` meets opening it
            Outbox(state / "outbox.sqlite3")
        assert "cannot be moved aside" in e.value.reason
    (state / "outbox.sqlite3").unlink()
    (state / "outbox.sqlite3").mkdir()  # a directory in its place is moved aside: no refusal
    assert main(["doctor", "--config", str(path)]) == 1
    assert "moves it aside" in _lines(capsys.readouterr().out)["outbox"]


def test_unusable_state_dir_is_a_refusal(tmp_path, broker, capsys):
    (tmp_path / "state").write_text("a file where the state directory should be")
    path = _plain_config(tmp_path, broker.url)
    assert main(["doctor", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert _lines(out)["state_dir"].startswith("FAIL") and "disk_space" not in _lines(out)
    assert len(err.splitlines()) == 1 and str(tmp_path / "state") in err and "not a directory" in err


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


def test_a_required_role_missing_is_a_warning_and_a_virtual_device_needs_no_hardware(tmp_path):
    """kiosk/roles.py: a hall kiosk needs its ID-card reader and its printer; a missing one is a
    warning (exit 0: a hall may run without, staff should know), a missing optional one is nothing."""
    from kiosk import doctor
    base = {"terminal": {"id": "ZM-DOC-0002", "region": {"city": "410100"}},
            "runtime": {"state_dir": str(tmp_path / "state")},
            "devices": {"printer": {"driver": "printer.virtual"}}}
    checks = {c.name: c for c in doctor.device_checks(config.from_dict(base))}
    assert list(checks) == ["device:idcard", "device:printer"]
    assert checks["device:idcard"].warn and checks["device:idcard"].ok
    assert "[devices.idcard]" in checks["device:idcard"].hint and "idcard.virtual" in checks["device:idcard"].hint
    assert checks["device:printer"].line().startswith("ok ") and "in memory" in checks["device:printer"].detail
    mobile = config.from_dict({**base, "terminal": {**base["terminal"], "profile": "mobile"}})
    assert [c.name for c in doctor.device_checks(mobile)] == ["device:printer"]


def test_a_checkout_without_compiled_translations_fails_the_doctor(tmp_path):
    # A cold try: with no .mo files a zh_CN terminal showed every text in English and doctor said ok.
    import shutil

    from kiosk import i18n
    from kiosk.doctor import translations_check
    bare = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, bare, ignore=shutil.ignore_patterns("*.mo"))
    check = translations_check("zh_CN", bare)
    assert not check.ok and "zh_CN (the terminal's default language)" in check.detail
    assert "tools.i18n compile" in check.hint and check.line().startswith("FAIL")
    assert translations_check("zh_CN").ok      # this checkout's compiled catalogues (the test session's fixture)


@pytest.mark.parametrize("zone,warn", [("Asia/Shanghai", False), ("PRC", False), ("Etc/GMT-8", False),
                                       ("Etc/GMT+8", True), ("UTC", True), ("Europe/Berlin", True)])
def test_a_zone_off_the_hall_time_is_a_warning(zone, warn):
    # A cold re-check: Etc/GMT+8 (UTC-8 in POSIX signs) loaded silently, 16 hours off the hall time.
    check = doctor.timezone_check(zone, now=dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
    assert check.ok and check.warn is warn and zone in check.detail
    assert ("not the hall time" in check.detail) is warn and (check.hint != "") is warn
