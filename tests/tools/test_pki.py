"""tools/pki.py: the files it writes, their contents, re-runs and revocation, the CLI."""
from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools import pki


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_build_writes_ca_terminal_certs_central_crl_acl_and_conf(tmp_path):
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
    server = pki.load_cert(tmp_path / "server.crt")
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca.public_key()) and len(list(crl)) == 0

    acl = (tmp_path / "acl").read_text()
    assert "pattern read kiosk/v1/%u/cmd" in acl and "pattern write kiosk/v1/%u/req/+" in acl
    assert "user ZM-0001\ntopic read kiosk/v1/bcast/410100\ntopic read kiosk/v1/bcast/410122" in acl
    assert "readwrite kiosk/v1/#" in acl.split(f"user {pki.CENTRAL_CN}")[1]
    assert "topic write kiosk/v1/bcast" not in acl  # broadcasts are read-only for terminals

    conf = p.conf.read_text()
    lines = conf.splitlines()
    assert "listener 18883 127.0.0.1" in lines
    assert [ln for ln in lines if ln.startswith("listener")] == ["listener 18883 127.0.0.1"]  # no plaintext
    for must in ("require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
                 "set_tcp_nodelay true", "allow_anonymous false", f"crlfile {(tmp_path / 'crl.pem').resolve()}"):
        assert must in lines


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
    assert "user ZM-0004" in (tmp_path / "acl").read_text()


def test_expired_certificate_can_be_issued_for_tests(tmp_path):
    key, ca = pki.make_ca()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    _, cert = pki.issue(key, ca, "ZM-OLD", not_before=past - dt.timedelta(days=1), not_after=past)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc)


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
    acl = (tmp_path / "acl").read_text()
    assert "kiosk/v1/bcast/#" not in acl and acl.count("topic read kiosk/v1/bcast/410100") == 2
