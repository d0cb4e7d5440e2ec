"""The deployment files say what issue 6 asks: notify + watchdog + restart, no core dumps,
ModemManager kept away, and the production broker profile has no plaintext listener."""
from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _unit(path: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment, method-assign]  # configparser's documented case-keeping idiom
    cp.read(ROOT / path)
    return cp


def test_units_notify_watchdog_restart_no_core():
    for path in ("deploy/session/hall-kiosk-session.service", "deploy/systemd/hall-kiosk.service"):
        svc = _unit(path)["Service"]
        assert svc["Type"] == "notify" and svc["Restart"] == "always", path
        assert int(svc["WatchdogSec"]) > 0 and svc["LimitCORE"] == "0", path
        assert svc["NoNewPrivileges"] == "yes" and svc["UMask"] == "0077", path
    assert "cage" in _unit("deploy/session/hall-kiosk-session.service")["Service"]["ExecStart"]


def test_udev_rules_keep_modemmanager_away_and_name_devices():
    rules = [ln for ln in (ROOT / "deploy/udev/70-hall-kiosk.rules").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    tty = [ln for ln in rules if 'SUBSYSTEM=="tty"' in ln]
    assert tty and all('ENV{ID_MM_DEVICE_IGNORE}="1"' in ln and "SYMLINK+=\"kiosk/" in ln for ln in tty)


def test_production_broker_profile():
    lines = [ln.strip() for ln in (ROOT / "config/broker/mosquitto.conf").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 8883"]
    for must in ("allow_anonymous false", "require_certificate true", "use_identity_as_username true",
                 "tls_version tlsv1.2", "set_tcp_nodelay true"):
        assert must in lines
    assert any(ln.startswith("crlfile ") for ln in lines)
    # ACLs in the dynamic-security plugin only: an acl_file would shadow it (test_broker_isolation).
    assert not any(ln.startswith("acl_file") for ln in lines)
    [plugin] = [ln.split(None, 1)[1] for ln in lines if ln.startswith("plugin ")]
    assert plugin.endswith("/mosquitto_dynamic_security.so")
    [dynsec] = [ln.split(None, 1)[1] for ln in lines if ln.startswith("plugin_opt_config_file ")]
    assert dynsec.startswith("/var/lib/mosquitto/")  # the plugin writes it back: the broker's own dir
    assert not (ROOT / "config/broker/acl.example").exists()
    assert (ROOT / "config/broker/dynamic-security.example.json").exists()
