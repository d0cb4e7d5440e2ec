"""A development PKI and a ready production-style Mosquitto profile (issues 6 and 13).

``python -m hall_central.pki --out DIR --terminals ID[,ID...] [--revoke ID [--live]] [--port N] [--regions C,C]
[--central-instances c2,c3]`` writes, with the ``cryptography`` library:

- ``DIR/ca.crt`` (+ ``ca.key``): a dedicated device CA (Mosquitto's ``use_identity_as_username``
  trusts any CA in ``cafile``, so this CA signs nothing but our broker, terminals and central);
- ``DIR/terminals/ID.crt`` / ``.key``: one client certificate per terminal, CN = terminal id;
- ``DIR/central.crt`` / ``.key``: the central service's client certificate (CN ``central.kiosk``,
  instance ``c1``), and ``DIR/central-X.crt`` (CN ``central-X.kiosk``) for each further instance X:
  the broker makes the CN the client id, so instances must not share a certificate;
- ``DIR/admin.crt`` / ``.key``: the broker administrator's (CN ``admin.kiosk``), for
  ``mosquitto_ctrl dynsec`` on a live broker;
- ``DIR/server.crt`` / ``.key``: the broker's certificate for ``localhost`` / ``127.0.0.1`` / ``::1``;
- ``DIR/crl.pem``: the CA's revocation list (``--revoke`` adds a terminal; re-runs keep earlier ones);
- ``DIR/dynamic-security.json``: the ACLs, as the config of Mosquitto's dynamic-security plugin
  (central/hall_central/dynsec.py): one client and one role per terminal (its own subtree, its regions' broadcasts
  read-only), the central instances, the administrator; everything else denied, SUBSCRIBE included;
- ``DIR/mosquitto.conf``: TLS 1.2+ on loopback only, client certificates required, the identity
  as username and the username as client id, the CRL, the plugin, ``set_tcp_nodelay true``, the
  size, inflight and queue limits of hall_central/broker_profile.py, a connection limit, no plaintext listener.

``python -m hall_central.pki --dynsec-commands add|revoke --terminals ID [--regions C,C]`` prints the
``mosquitto_ctrl dynsec`` commands that make the same change on a live broker (config/broker/README.md).

Re-running on an existing DIR keeps the CA and the certificates already issued and regenerates
the dynamic-security file from DIR's terminals (revoked ones get no client): stop the broker
first, since the plugin rewrites that file with its own state whenever a ``mosquitto_ctrl`` change
reaches it. ``--revoke ID --live`` is for a running broker: it only re-signs the CRL and prints the
rest (reload, then the dynsec commands). Production uses the same shapes with keys kept offline;
see ``config/broker/``.

What Mosquitto 2.0.11 (Debian 12) does with this profile, found by experiment (tests/security):

- SIGHUP re-reads the CRL: new TLS handshakes are checked against it, connected clients (the
  revoked one too) stay connected. Deleting the revoked terminal's dynsec client disconnects it at
  once; it cannot come back, since the CRL refuses its handshake. No restart, nobody else dropped.
- ``use_username_as_clientid`` makes the certificate's CN the client id whatever the client
  sent, so one terminal's certificate can neither take over nor wipe another terminal's session.
- ``acl_file`` next to the plugin shadows it completely: Mosquitto asks the plugin only when no
  ``acl_file`` is configured, and ``acl_file`` grants every SUBSCRIBE. Hence no ``acl_file`` here.
- More in central/hall_central/dynsec.py (how the plugin combines with certificate identities).
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import ipaddress
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hall_central.broker_profile import limit_lines

# Re-exported: the identities and their rights live in central/hall_central/dynsec.py; hall_central.pki is their front door.
from hall_central.dynsec import (
    ADMIN_CN as ADMIN_CN,
)
from hall_central.dynsec import (
    CENTRAL_CN as CENTRAL_CN,
)
from hall_central.dynsec import (
    DYNSEC_FILE as DYNSEC_FILE,
)
from hall_central.dynsec import (
    DYNSEC_PLUGIN as DYNSEC_PLUGIN,
)
from hall_central.dynsec import (
    FIRST_INSTANCE as FIRST_INSTANCE,
)
from hall_central.dynsec import (
    PkiError as PkiError,
)
from hall_central.dynsec import (
    central_cn as central_cn,
)
from hall_central.dynsec import (
    check_terminal as check_terminal,
)
from hall_central.dynsec import (
    ctrl_commands as ctrl_commands,
)
from hall_central.dynsec import (
    ctrl_lines as ctrl_lines,
)
from hall_central.dynsec import (
    dynsec_config as dynsec_config,
)
from hall_central.dynsec import (
    dynsec_text as dynsec_text,
)
from hall_central.dynsec import (
    find_dynsec_plugin as find_dynsec_plugin,
)
from hall_central.dynsec import (
    terminal_acls as terminal_acls,
)
from hall_central.dynsec import (
    terminal_role as terminal_role,
)

#: The broker's certificate names what clients dial on a development machine.
SERVER_CN = "broker.kiosk"
SERVER_DNS = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")
#: Why these lifetimes: a CA outlives the fleet; a terminal certificate is renewed yearly;
#: a CRL must be re-signed before ``next_update`` or Mosquitto refuses every client.
CA_DAYS = 3650
LEAF_DAYS = 397
CRL_DAYS = 30
_REGION_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
#: ``max_connections`` of the TLS listener. Why: each connection costs a file descriptor and a
#: TLS session's memory; the limit keeps a flood of handshakes from exhausting the broker. Size it
#: to the fleet (terminals + central instances + operators) with headroom, and give the service
#: as many file descriptors (config/broker/mosquitto-limits.conf: systemd's default soft limit of
#: 1024 would stop it first).
MAX_CONNECTIONS = 5000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key (small, fast, supported by every MQTT broker's TLS stack)."""
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(cn: str = "Kiosk Device CA", days: int = CA_DAYS) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA that may sign certificates and CRLs and nothing else."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue(ca_key, ca_cert: x509.Certificate, cn: str, *, server: bool = False, days: int = LEAF_DAYS,
          not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
          dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf certificate with CN ``cn``: client auth, or server auth with DNS/IP names."""
    key = new_key()
    start = not_before or _now() - dt.timedelta(minutes=5)
    end = not_after or start + dt.timedelta(days=days)
    eku = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if dns or ips:
        names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


def make_crl(ca_key, ca_cert: x509.Certificate, revoked_serials: list[int], days: int = CRL_DAYS) -> x509.CertificateRevocationList:
    """A CRL of the CA listing ``revoked_serials`` (an empty one is valid and still required)."""
    now = _now()
    b = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
         .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=days)))
    for serial in sorted(set(revoked_serials)):
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                      .revocation_date(now - dt.timedelta(minutes=5)).build())
    return b.sign(ca_key, hashes.SHA256())


def mosquitto_conf(out: Path, port: int, *, log_file: Path | None = None, plugin: str | None = None) -> str:
    """The broker profile: TLS 1.2+ on loopback only, client certificates, CRL, dynsec, limits, no plaintext."""
    out = out.resolve()
    plugin = plugin or find_dynsec_plugin()
    lines = [
        "# Generated by central/hall_central/pki.py: production-style profile for development and tests.",
        "per_listener_settings false",
        # Why: the keys written here are 0600 for the user who ran the tool; Mosquitto started as
        # root would otherwise switch to "mosquitto" and fail to read them (production: see config/broker/).
        f"user {getpass.getuser()}",
        "allow_anonymous false",
        # The ACLs: the dynamic-security plugin and nothing else (an acl_file would shadow it).
        f"plugin {plugin}",
        f"plugin_opt_config_file {out / DYNSEC_FILE}",
        # Why: 44-88 ms per round trip with Nagle + delayed ACK (PITFALLS.md).
        "set_tcp_nodelay true",
        "persistence false",
        # Size, inflight and queue limits: the same in every profile we ship (hall_central/broker_profile.py says why).
        *limit_lines(),
        f"listener {port} 127.0.0.1",
        "protocol mqtt",
        f"max_connections {MAX_CONNECTIONS}",
        f"cafile {out / 'ca.crt'}",
        f"certfile {out / 'server.crt'}",
        f"keyfile {out / 'server.key'}",
        # Re-read on SIGHUP (PkiBroker.reload): a revocation needs no restart.
        f"crlfile {out / 'crl.pem'}",
        "tls_version tlsv1.2",  # the minimum: TLS 1.2 and 1.3 are accepted, nothing older
        "require_certificate true",
        "use_identity_as_username true",
        # Why: the client id becomes the certificate's CN, whatever the client sent: a terminal
        # claiming another's client id can neither disconnect it nor wipe its persistent session.
        "use_username_as_clientid true",
        f"log_dest file {log_file or out / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_key(path: Path, key) -> None:
    """A private key as unencrypted PKCS#8 PEM, mode 0600 (the broker and the runtime read it)."""
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()), private=True)


def write_cert(path: Path, cert: x509.Certificate) -> None:
    """A certificate as PEM."""
    _write(path, cert.public_bytes(serialization.Encoding.PEM))


def load_cert(path: Path) -> x509.Certificate:
    """Read a PEM certificate."""
    return x509.load_pem_x509_certificate(path.read_bytes())


def central_file(instance: str = FIRST_INSTANCE) -> str:
    """The file stem of one central instance's certificate in DIR: ``central`` or ``central-X``."""
    cn = central_cn(instance)  # validates the instance id
    return "central" if cn == CENTRAL_CN else f"central-{instance}"


@dataclass
class Pki:
    """Paths of what :func:`build` wrote."""

    out: Path
    port: int
    terminals: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    @property
    def ca(self) -> Path:
        """The device CA certificate."""
        return self.out / "ca.crt"

    @property
    def conf(self) -> Path:
        """The broker config."""
        return self.out / "mosquitto.conf"

    @property
    def url(self) -> str:
        """``mqtts://127.0.0.1:PORT``."""
        return f"mqtts://127.0.0.1:{self.port}"

    def terminal_tls(self, terminal: str) -> dict:
        """The gateway's ``tls`` dict for one terminal."""
        return {"ca": str(self.ca), "cert": str(self.out / "terminals" / f"{terminal}.crt"),
                "key": str(self.out / "terminals" / f"{terminal}.key"), "insecure": False}

    def central_tls(self, instance: str = FIRST_INSTANCE) -> dict:
        """One central service instance's ``tls`` dict (each instance has its own certificate)."""
        name = central_file(instance)
        return {"ca": str(self.ca), "cert": str(self.out / f"{name}.crt"), "key": str(self.out / f"{name}.key"),
                "insecure": False}

    @property
    def dynsec(self) -> Path:
        """The dynamic-security plugin's file."""
        return self.out / DYNSEC_FILE

    def ctrl_args(self) -> list[str]:
        """``mosquitto_ctrl`` connection options as the administrator (then ``dynsec ...``)."""
        return ["--cafile", str(self.ca), "--cert", str(self.out / "admin.crt"), "--key",
                str(self.out / "admin.key"), "-h", "127.0.0.1", "-p", str(self.port)]


def _load_ca(out: Path):
    ca_key = serialization.load_pem_private_key((out / "ca.key").read_bytes(), None)
    return ca_key, load_cert(out / "ca.crt")


def revoke_certificates(out: str | Path, terminals: list[str]) -> list[int]:
    """Add ``terminals``' certificates to DIR's CRL (earlier revocations kept) and re-sign it;
    return every revoked serial. Touches nothing else, so it is safe next to a running broker
    (reload it afterwards: SIGHUP re-reads the CRL)."""
    out = Path(out)
    ca_key, ca_cert = _load_ca(out)
    serials: list[int] = []
    crl_path = out / "crl.pem"
    if crl_path.exists():  # keep earlier revocations
        serials += [r.serial_number for r in x509.load_pem_x509_crl(crl_path.read_bytes())]
    for t in terminals:
        path = out / "terminals" / f"{check_terminal(t)}.crt"
        if not path.exists():
            raise PkiError(f"cannot revoke {t}: no certificate {path}")
        serials.append(load_cert(path).serial_number)
    _write(crl_path, make_crl(ca_key, ca_cert, serials).public_bytes(serialization.Encoding.PEM))
    return serials


def build(out: str | Path, terminals: list[str], *, revoke: Sequence[str] = (), port: int | None = None,
          regions: list[str] | None = None, central_instances: list[str] | None = None) -> Pki:
    """Create (or extend) the PKI in ``out`` and write the dynsec file and the broker config.

    ``central_instances``: further central service instances (``c1`` always has ``central.crt``),
    kept across re-runs like ``regions``."""
    out = Path(out)
    revoke_list = list(revoke)
    if port is None:  # a re-run (e.g. --revoke) keeps the port of the existing config
        old = out / "mosquitto.conf"
        m = re.search(r"^listener (\d+) ", old.read_text(), re.M) if old.exists() else None
        port = int(m.group(1)) if m else 8883
    for t in list(terminals) + revoke_list:
        check_terminal(t)
    plugin = find_dynsec_plugin()  # first: nothing is written for a broker that cannot use it
    settings = out / "pki.json"  # what a re-run (e.g. --revoke) must keep: regions, central instances
    saved = json.loads(settings.read_text()) if settings.exists() else {}
    if regions is None:
        regions = saved.get("regions")
    for r in regions or []:
        if not _REGION_RE.match(r):
            raise PkiError(f"bad region code {r!r}: 6, 9 or 12 digits")
    instances = list(dict.fromkeys([FIRST_INSTANCE, *saved.get("central_instances", []), *(central_instances or [])]))
    centrals = [central_cn(i) for i in instances]  # validates them before anything is written
    if (out / "ca.key").exists():
        ca_key, ca_cert = _load_ca(out)
    else:
        ca_key, ca_cert = make_ca()
        write_key(out / "ca.key", ca_key)
        write_cert(out / "ca.crt", ca_cert)
    leaves = [("server", SERVER_CN), ("admin", ADMIN_CN)] + [(central_file(i), central_cn(i)) for i in instances]
    for name, cn in leaves:
        if not (out / f"{name}.crt").exists():
            server = name == "server"
            k, c = issue(ca_key, ca_cert, cn, server=server, dns=SERVER_DNS if server else (),
                         ips=SERVER_IPS if server else ())
            write_key(out / f"{name}.key", k)
            write_cert(out / f"{name}.crt", c)
    tdir = out / "terminals"
    for t in terminals:
        if not (tdir / f"{t}.crt").exists():
            k, c = issue(ca_key, ca_cert, t)
            write_key(tdir / f"{t}.key", k)
            write_cert(tdir / f"{t}.crt", c)
    revoked_set = set(revoke_certificates(out, revoke_list))
    known = sorted(p.stem for p in tdir.glob("*.crt")) if tdir.exists() else []
    active = [t for t in known if load_cert(tdir / f"{t}.crt").serial_number not in revoked_set]
    _write(settings, json.dumps({"regions": regions, "central_instances": instances[1:]}).encode())
    # Why 0600: the file lists every identity and its rights (the plugin keeps the mode when it saves).
    _write(out / DYNSEC_FILE, dynsec_text(active, regions, centrals).encode(), private=True)
    (out / "acl").unlink(missing_ok=True)  # an acl_file of an older run: one source of truth
    _write(out / "mosquitto.conf", mosquitto_conf(out, port, plugin=plugin).encode())
    return Pki(out, port, known, revoke_list)


def main(argv: list[str] | None = None) -> int:
    """The CLI (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m hall_central.pki", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (required unless --dynsec-commands)")
    ap.add_argument("--terminals", default="", help="terminal ids, comma separated")
    ap.add_argument("--revoke", action="append", default=[], help="revoke this terminal's certificate")
    ap.add_argument("--live", action="store_true",
                    help="with --revoke: the broker is running; only re-sign the CRL and print the next steps")
    ap.add_argument("--port", type=int, default=None, help="the broker's TLS port on 127.0.0.1 (default 8883)")
    ap.add_argument("--regions", default="", help="region codes whose broadcasts terminals may read")
    ap.add_argument("--central-instances", default="",
                    help="further central service instances (c2,c3...): one certificate each (c1 has central.crt)")
    ap.add_argument("--dynsec-commands", choices=("add", "revoke"), default=None,
                    help="print the mosquitto_ctrl commands that add/revoke --terminals on a live broker")
    args = ap.parse_args(argv)
    terminals = [t for t in args.terminals.split(",") if t]
    regions = [r for r in args.regions.split(",") if r] or None
    instances = [i for i in args.central_instances.split(",") if i]
    try:
        if args.dynsec_commands:
            for r in regions or []:
                if not _REGION_RE.match(r):
                    raise PkiError(f"bad region code {r!r}: 6, 9 or 12 digits")
            # $CTRL: mosquitto_ctrl and its connection options (config/broker/README.md).
            for line in ctrl_lines(args.dynsec_commands, terminals, regions):
                print(line)
            return 0
        if not args.out:
            raise PkiError("--out DIR is required")
        if args.live:
            if not args.revoke or terminals or instances or args.port or regions:
                raise PkiError("--live goes with --revoke ID only (the running broker owns its other files)")
            if not (Path(args.out) / "ca.key").exists():
                raise PkiError(f"no CA in {args.out}")
            revoke_certificates(args.out, args.revoke)
            print(f"# {Path(args.out) / 'crl.pem'} re-signed: {', '.join(args.revoke)} revoked. Next, on the running broker:")
            print("# 1. reload it (systemctl reload mosquitto, or kill -HUP its pid): it re-reads the CRL and drops no one;")
            print("# 2. disconnect the revoked terminal(s) at once (they cannot reconnect):")
            for line in ctrl_lines("revoke", args.revoke):
                print(line)
            return 0
        pki = build(args.out, terminals, revoke=args.revoke, port=args.port, regions=regions,
                    central_instances=instances)
    except PkiError as e:
        print(f"pki: {e}", file=sys.stderr)
        return 2
    print(f"CA {pki.ca}; {len(pki.terminals)} terminal certificates; broker: mosquitto -c {pki.conf} ({pki.url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
