"""central/hall_central/pki.py: the files it writes, their contents, re-runs and revocation, the CLI."""
from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hall_central import broker_profile, dynsec, pki
from kiosk.network.operations import OPS

ROOT = Path(__file__).resolve().parents[2]


def _cn(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(cn, str)
    return cn


def _role(cfg: dict, name: str) -> list[tuple[str, str]]:
    [role] = [r for r in cfg["roles"] if r["rolename"] == name]
    assert all(a["allow"] is True for a in role["acls"])
    return [(a["acltype"], a["topic"]) for a in role["acls"]]


def test_build_writes_ca_terminal_certs_central_crl_dynsec_and_conf(tmp_path):
    p = pki.build(tmp_path, ["ZM-0001", "ZM-0002"], port=18883, regions=["410100", "410122"])
    ca = pki.load_cert(p.ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for t in ("ZM-0001", "ZM-0002"):
        cert = pki.load_cert(tmp_path / "terminals" / f"{t}.crt")
        assert _cn(cert) == t
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
        key_mode = stat.S_IMODE((tmp_path / "terminals" / f"{t}.key").stat().st_mode)
        assert key_mode == 0o600
    assert _cn(pki.load_cert(tmp_path / "central.crt")) == pki.CENTRAL_CN
    assert _cn(pki.load_cert(tmp_path / "admin.crt")) == pki.ADMIN_CN
    server = pki.load_cert(tmp_path / "server.crt")
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca.public_key()) and len(list(crl)) == 0

    assert stat.S_IMODE(p.dynsec.stat().st_mode) == 0o600
    cfg = json.loads(p.dynsec.read_text())
    assert [c["username"] for c in cfg["clients"]] == ["ZM-0001", "ZM-0002", pki.CENTRAL_CN, pki.ADMIN_CN]
    assert "password" not in p.dynsec.read_text()  # the certificate is the identity
    assert cfg["defaultACLAccess"] == {"publishClientSend": False, "publishClientReceive": False,
                                       "subscribe": False, "unsubscribe": True}
    assert _role(cfg, "terminal-ZM-0001") == [
        *(("publishClientSend", f"kiosk/v1/ZM-0001/req/{op}") for op in OPS), ("publishClientSend", "kiosk/v1/ZM-0001/evt"),
        ("publishClientSend", "kiosk/v1/ZM-0001/state"), ("publishClientSend", "kiosk/v1/ZM-0001/telemetry"),
        ("subscribeLiteral", "kiosk/v1/ZM-0001/res"), ("publishClientReceive", "kiosk/v1/ZM-0001/res"),
        ("subscribeLiteral", "kiosk/v1/ZM-0001/cmd"), ("publishClientReceive", "kiosk/v1/ZM-0001/cmd"),
        ("subscribeLiteral", "kiosk/v1/bcast/410100"), ("publishClientReceive", "kiosk/v1/bcast/410100"),
        ("subscribeLiteral", "kiosk/v1/bcast/410122"), ("publishClientReceive", "kiosk/v1/bcast/410122")]
    assert "ZM-0001" not in json.dumps(_role(cfg, "terminal-ZM-0002"))  # each role names its own terminal only
    assert set(_role(cfg, "central")) == {
        ("publishClientSend", "kiosk/v1/#"), ("publishClientReceive", "kiosk/v1/#"),
        ("subscribePattern", "kiosk/v1/#"), ("subscribePattern", "$share/central/kiosk/v1/#")}
    assert {t for _, t in _role(cfg, "dynsec-admin")} == {"$CONTROL/dynamic-security/#"}
    assert not (tmp_path / "acl").exists()

    conf = p.conf.read_text()
    lines = conf.splitlines()
    assert "listener 18883 127.0.0.1" in lines
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 18883 127.0.0.1"]  # no plaintext
    for must in ("require_certificate true", "use_identity_as_username true", "use_username_as_clientid true",
                 "tls_version tlsv1.2", f"max_connections {pki.MAX_CONNECTIONS}", *broker_profile.limit_lines(),
                 "set_tcp_nodelay true", "allow_anonymous false", f"crlfile {(tmp_path / 'crl.pem').resolve()}",
                 f"plugin {pki.find_dynsec_plugin()}", f"plugin_opt_config_file {p.dynsec.resolve()}"):
        assert must in lines
    # One source of truth for ACLs: an acl_file would shadow the plugin (test_broker_isolation).
    assert not any(ln.startswith("acl_file") for ln in lines)


def test_rerun_keeps_ca_and_certs_and_accumulates_revocations(tmp_path):
    pki.build(tmp_path, ["ZM-0001", "ZM-0002", "ZM-0003"])
    ca_before = (tmp_path / "ca.crt").read_bytes()
    cert_before = (tmp_path / "terminals" / "ZM-0001.crt").read_bytes()
    pki.build(tmp_path, [], revoke=["ZM-0002"])
    pki.build(tmp_path, ["ZM-0004"], revoke=["ZM-0003"])
    assert (tmp_path / "ca.crt").read_bytes() == ca_before
    assert (tmp_path / "terminals" / "ZM-0001.crt").read_bytes() == cert_before
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    revoked = {r.serial_number for r in crl}
    serial = {t: pki.load_cert(tmp_path / "terminals" / f"{t}.crt").serial_number for t in
              ("ZM-0001", "ZM-0002", "ZM-0003", "ZM-0004")}
    assert revoked == {serial["ZM-0002"], serial["ZM-0003"]}
    # Revoked terminals lose their dynsec client and role too (defence in depth behind the CRL).
    cfg = json.loads((tmp_path / pki.DYNSEC_FILE).read_text())
    assert [c["username"] for c in cfg["clients"]] == ["ZM-0001", "ZM-0004", pki.CENTRAL_CN, pki.ADMIN_CN]
    assert not any("ZM-0002" in r["rolename"] or "ZM-0003" in r["rolename"] for r in cfg["roles"])


def test_rerun_replaces_an_acl_file_of_an_older_run(tmp_path):
    (tmp_path / "acl").write_text("topic readwrite #\n")
    pki.build(tmp_path, ["ZM-0001"])
    assert not (tmp_path / "acl").exists()
    assert "acl_file" not in (tmp_path / "mosquitto.conf").read_text()


def test_missing_plugin_is_a_pki_error_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(dynsec, "_PLUGIN_DIRS", (str(tmp_path / "nowhere"),))
    with pytest.raises(pki.PkiError, match="dynamic-security plugin.*not found.*nowhere"):
        pki.build(tmp_path / "out", ["ZM-0001"])
    assert not (tmp_path / "out").exists()
    assert pki.main(["--out", str(tmp_path / "out"), "--terminals", "ZM-0001"]) == 2


def test_plugin_is_found_in_a_multiarch_or_plain_lib_dir(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / pki.DYNSEC_PLUGIN).write_bytes(b"")
    assert pki.find_dynsec_plugin((str(tmp_path / "empty"), str(tmp_path / "lib"))) == \
        str(tmp_path / "lib" / pki.DYNSEC_PLUGIN)


def test_example_in_config_broker_is_what_the_generator_writes():
    # Regenerate with: python -c "from hall_central import pki; print(pki.dynsec_text(['ZM-0001'],
    #   ['410100', '410122', '410122203']), end='')" > config/broker/dynamic-security.example.json
    example = (ROOT / "config/broker/dynamic-security.example.json").read_text()
    assert example == pki.dynsec_text(["ZM-0001"], ["410100", "410122", "410122203"])


def test_ctrl_commands_grant_exactly_the_generated_role(tmp_path):
    cmds = pki.ctrl_commands("add", "ZM-0042", ["410100"])
    assert cmds[0] == ["dynsec", "createClient", "ZM-0042"] and cmds[-1] == ["dynsec", "addClientRole", "ZM-0042",
                                                                              "terminal-ZM-0042"]
    added = [(c[3], c[4]) for c in cmds if c[1] == "addRoleACL"]
    assert all(c[2] == "terminal-ZM-0042" and c[5] == "allow" for c in cmds if c[1] == "addRoleACL")
    assert added == [(a["acltype"], a["topic"]) for a in pki.terminal_acls("ZM-0042", ["410100"])]
    assert pki.ctrl_commands("revoke", "ZM-0042") == [["dynsec", "deleteClient", "ZM-0042"],
                                                      ["dynsec", "deleteRole", "terminal-ZM-0042"]]
    with pytest.raises(pki.PkiError):
        pki.ctrl_commands("add", "../x")
    with pytest.raises(pki.PkiError):
        pki.ctrl_commands("disable", "ZM-0042")


def test_cli_prints_the_dynsec_commands(capsys):
    assert pki.main(["--dynsec-commands", "add", "--terminals", "ZM-0042", "--regions", "410100"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "$CTRL dynsec createClient ZM-0042 </dev/null"
    assert "$CTRL dynsec addRoleACL terminal-ZM-0042 publishClientSend kiosk/v1/ZM-0042/req/checkin allow" in out
    assert "req/+" not in out
    assert out[-1] == "$CTRL dynsec addClientRole ZM-0042 terminal-ZM-0042"
    assert pki.main(["--dynsec-commands", "revoke", "--terminals", "ZM-0042"]) == 0
    assert capsys.readouterr().out.splitlines() == ["$CTRL dynsec deleteClient ZM-0042",
                                                    "$CTRL dynsec deleteRole terminal-ZM-0042"]
    assert pki.main(["--dynsec-commands", "add", "--terminals", "ZM-0042", "--regions", "41"]) == 2
    assert pki.main(["--terminals", "ZM-0042"]) == 2  # neither --out nor --dynsec-commands


def test_expired_certificate_can_be_issued_for_tests(tmp_path):
    key, ca = pki.make_ca()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    _, cert = pki.issue(key, ca, "ZM-OLD", not_before=past - dt.timedelta(days=1), not_after=past)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("bad", ["a", "has space", "../etc", "x" * 70, "central.kiosk"])
def test_bad_terminal_ids_are_refused(tmp_path, bad):
    with pytest.raises(pki.PkiError):
        pki.build(tmp_path, [bad])


def test_cli(tmp_path, capsys):
    assert pki.main(["--out", str(tmp_path), "--terminals", "ZM-0001,ZM-0002", "--port", "18884"]) == 0
    assert (tmp_path / "terminals" / "ZM-0002.key").exists()
    assert pki.main(["--out", str(tmp_path), "--revoke", "ZM-0001"]) == 0
    assert len(list(x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes()))) == 1
    assert pki.main(["--out", str(tmp_path), "--revoke", "ZM-9999"]) == 2
    assert "cannot revoke" in capsys.readouterr().err


def test_rerun_keeps_the_port(tmp_path):
    pki.build(tmp_path, ["ZM-0001"], port=18885)
    pki.build(tmp_path, [], revoke=["ZM-0001"])
    assert "listener 18885 127.0.0.1" in (tmp_path / "mosquitto.conf").read_text()


def test_rerun_keeps_the_regions(tmp_path):
    pki.build(tmp_path, ["ZM-0001"], regions=["410100"])
    pki.build(tmp_path, ["ZM-0002"], revoke=["ZM-0001"])
    cfg = json.loads((tmp_path / pki.DYNSEC_FILE).read_text())
    assert _role(cfg, "terminal-ZM-0002")[-2:] == [("subscribeLiteral", "kiosk/v1/bcast/410100"),
                                                   ("publishClientReceive", "kiosk/v1/bcast/410100")]
    assert "kiosk/v1/bcast/#" not in json.dumps(cfg)


def test_no_regions_means_every_broadcast_read_only(tmp_path):
    pki.build(tmp_path, ["ZM-0001"])
    acls = _role(json.loads((tmp_path / pki.DYNSEC_FILE).read_text()), "terminal-ZM-0001")
    assert acls[-2:] == [("subscribePattern", "kiosk/v1/bcast/#"), ("publishClientReceive", "kiosk/v1/bcast/#")]
    assert not any(t.startswith("publishClientSend") and "bcast" in topic for t, topic in acls)


def test_each_central_instance_gets_its_own_certificate_and_client(tmp_path):
    pki.build(tmp_path, ["ZM-0001"], central_instances=["c2"])
    p = pki.build(tmp_path, [], central_instances=["c3"])  # a re-run keeps c2 (pki.json)
    assert _cn(pki.load_cert(tmp_path / "central.crt")) == pki.CENTRAL_CN == pki.central_cn("c1")
    for i in ("c2", "c3"):
        cert = pki.load_cert(Path(p.central_tls(i)["cert"]))
        assert _cn(cert) == f"central-{i}.kiosk" == pki.central_cn(i)
        assert stat.S_IMODE(Path(p.central_tls(i)["key"]).stat().st_mode) == 0o600
    cfg = json.loads(p.dynsec.read_text())
    centrals = [c["username"] for c in cfg["clients"] if c["roles"] == [{"rolename": "central"}]]
    assert centrals == [pki.CENTRAL_CN, "central-c2.kiosk", "central-c3.kiosk"]
    with pytest.raises(pki.PkiError, match="bad central instance"):
        pki.build(tmp_path, [], central_instances=["C 2"])
    with pytest.raises(pki.PkiError):
        p.central_tls("../x")


def test_revoking_next_to_a_running_broker_touches_only_the_crl(tmp_path, capsys):
    p = pki.build(tmp_path, ["ZM-0001", "ZM-0002"], port=18886)
    before = {f: (tmp_path / f).read_bytes() for f in (pki.DYNSEC_FILE, "mosquitto.conf", "pki.json")}
    assert pki.main(["--out", str(tmp_path), "--revoke", "ZM-0002", "--live"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert {f: (tmp_path / f).read_bytes() for f in before} == before  # the running broker owns these
    serial = pki.load_cert(tmp_path / "terminals" / "ZM-0002.crt").serial_number
    assert [r.serial_number for r in x509.load_pem_x509_crl(p.out.joinpath("crl.pem").read_bytes())] == [serial]
    # The steps that follow, the commands exactly as --dynsec-commands prints them.
    assert any("systemctl reload mosquitto" in ln for ln in out if ln.startswith("#"))
    assert [ln for ln in out if not ln.startswith("#")] == pki.ctrl_lines("revoke", ["ZM-0002"])
    assert pki.main(["--out", str(tmp_path), "--revoke", "ZM-0001", "--live", "--terminals", "ZM-0009"]) == 2
    assert pki.main(["--out", str(tmp_path), "--live"]) == 2
    assert pki.main(["--out", str(tmp_path / "empty"), "--revoke", "ZM-0001", "--live"]) == 2
    assert "no CA" in capsys.readouterr().err
