"""`kiosk doctor` against the production broker profile: it connects with the terminal's own
certificate and tells a technician whether the broker grants the terminal its topics."""
from __future__ import annotations

import pytest

from kiosk import config, doctor

pytestmark = pytest.mark.integration


def _config(tmp_path, pki_dir, terminal: str, **tls_over) -> str:
    tls = dict(pki_dir.terminal_tls(terminal), **tls_over)
    path = tmp_path / f"{terminal}.toml"
    cfg = config.from_dict({
        "terminal": {"id": terminal, "hall_code": "H410100", "region": {"city": "410100", "county": "410122"}},
        "runtime": {"state_dir": str(tmp_path / "state")},
        "network": {"broker": pki_dir.url, "ca_file": tls["ca"], "cert_file": tls["cert"], "key_file": tls["key"]}})
    path.write_text(config.dump_toml(cfg.data), encoding="utf-8")
    return str(path)


def _broker(checks):
    [check] = [c for c in checks if c.name == "broker"]
    return check


def test_doctor_uses_the_terminal_certificate_and_sees_its_topics_granted(tmp_path, pki_dir, tls_broker):
    check = _broker(doctor.run_checks(_config(tmp_path, pki_dir, "ZM-0001")))
    assert check.ok and "own topics granted" in check.detail


def test_doctor_names_a_terminal_missing_on_the_broker(tmp_path, pki_dir, tls_broker, restart_with_dynsec):
    def forget_role(cfg):
        for c in cfg["clients"]:
            if c["username"] == "ZM-0002":
                c["roles"] = []
    restart_with_dynsec(forget_role)
    check = _broker(doctor.run_checks(_config(tmp_path, pki_dir, "ZM-0002")))
    # 0x87 "Not authorized": the doctor probes through the terminal's own MQTT v5 link, so it
    # reports the code the gateway sees (MQTT 3.1.1, which the doctor spoke before, only has 0x80).
    assert not check.ok and "SUBACK 0x87" in check.detail
    assert "add it to the broker's dynamic-security config" in check.hint and "ZM-0002" in check.hint


def test_doctor_reports_a_revoked_or_missing_certificate(tmp_path, pki_dir, tls_broker):
    revoked = _broker(doctor.run_checks(_config(tmp_path, pki_dir, "ZM-0003")))  # revoked by the fixture
    assert not revoked.ok and "certificates" in revoked.hint
    missing = _broker(doctor.run_checks(_config(tmp_path, pki_dir, "ZM-0001", cert=str(tmp_path / "none.crt"))))
    assert not missing.ok and "none.crt" in missing.detail and "certificate" in missing.hint
