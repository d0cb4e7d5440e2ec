"""A development PKI and a ready production-style Mosquitto profile (issue 6).

``python -m hall_central.pki --out DIR --terminals ID[,ID...] [--revoke ID] [--port N] [--regions C,C]``
writes, with the ``cryptography`` library:

- ``DIR/ca.crt`` (+ ``ca.key``): a dedicated device CA (Mosquitto's ``use_identity_as_username``
  trusts any CA in ``cafile``, so this CA signs nothing but our broker, terminals and central);
- ``DIR/terminals/ID.crt`` / ``.key``: one client certificate per terminal, CN = terminal id;
- ``DIR/central.crt`` / ``.key``: the central service's client certificate (CN ``central.kiosk``);
- ``DIR/admin.crt`` / ``.key``: the broker administrator's (CN ``admin.kiosk``), for
  ``mosquitto_ctrl dynsec`` on a live broker;
- ``DIR/server.crt`` / ``.key``: the broker's certificate for ``localhost`` / ``127.0.0.1``;
- ``DIR/crl.pem``: the CA's revocation list (``--revoke`` adds a terminal; re-runs keep earlier ones);
- ``DIR/dynamic-security.json``: the ACLs, as the config of Mosquitto's dynamic-security plugin:
  one client and one role per terminal (its own subtree, its regions' broadcasts read-only), the
  central service, the administrator; everything else denied, SUBSCRIBE included (SUBACK 0x87);
- ``DIR/mosquitto.conf``: TLS 1.2+ on loopback only, client certificates required, the
  identity as username, the CRL, the plugin, ``set_tcp_nodelay true``, no plaintext listener.

``python -m hall_central.pki --dynsec-commands add|revoke --terminals ID [--regions C,C]`` prints the
``mosquitto_ctrl dynsec`` commands that make the same change on a live broker (config/broker/README.md).

Re-running on an existing DIR keeps the CA and the certificates already issued (so a revocation
is a re-run with ``--revoke``) and regenerates the dynamic-security file from DIR's terminals
(revoked ones get no client): stop the broker first, since the plugin rewrites that file with its
own state whenever a ``mosquitto_ctrl`` change reaches it. Production uses the same shapes with
keys kept offline; see ``config/broker/``.

What Mosquitto 2.0.11 (Debian 12) does with this profile, found by experiment (tests/security):

- With ``use_identity_as_username`` the broker takes the username from the certificate and never
  calls the plugin's password check: a dynsec client needs no password, and neither a client
  marked ``disabled`` nor a certificate with no dynsec client at all is refused a session. Access
  is decided per packet by the ACLs: a certificate without a client (or a client without a role)
  is connected but denied every publish and subscribe. So revocation is the CRL's job; deleting the
  revoked terminal's client (done here) is defence in depth, ``disableClient`` would do nothing.
- ``acl_file`` next to the plugin shadows it completely: Mosquitto asks the plugin only when no
  ``acl_file`` is configured, and ``acl_file`` grants every SUBSCRIBE. Hence no ``acl_file`` here.
- The plugin does not substitute ``%u`` / ``%c`` in 2.0.11 (it arrives in 2.1), so each terminal
  has a role of its own; SIGHUP does not reload the plugin's file (``mosquitto_ctrl`` or a restart
  does); a change to a client's roles or a role's ACLs disconnects the clients concerned, which
  reconnect and subscribe again; a missing or unreadable file leaves the broker up with every
  publish and subscribe denied (it logs "Error loading Dynamic security plugin config").
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
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The central service's identity (its username at the broker). Why a dot: terminal ids may not
#: contain one (kiosk.network.topics), so no terminal can ever be issued this name.
CENTRAL_CN = "central.kiosk"
#: The broker administrator's identity (``mosquitto_ctrl dynsec``): a dot again, so no terminal
#: can be issued it.
ADMIN_CN = "admin.kiosk"
#: The broker's certificate names what clients dial on a development machine.
SERVER_CN = "broker.kiosk"
SERVER_DNS = ("localhost",)
SERVER_IPS = ("127.0.0.1",)
#: Why these lifetimes: a CA outlives the fleet; a terminal certificate is renewed yearly;
#: a CRL must be re-signed before ``next_update`` or Mosquitto refuses every client.
CA_DAYS = 3650
LEAF_DAYS = 397
CRL_DAYS = 30
_TERMINAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
_REGION_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")
#: The dynamic-security plugin's file in DIR (production: /var/lib/mosquitto/, config/broker/).
DYNSEC_FILE = "dynamic-security.json"
DYNSEC_PLUGIN = "mosquitto_dynamic_security.so"
#: Where distributions put the plugin: Debian/Ubuntu in the multiarch lib dir, others in lib or
#: lib64, a source build in /usr/local/lib. The multiarch triplet comes from Python's own build.
_PLUGIN_DIRS = tuple(dict.fromkeys(d for d in (
    f"/usr/lib/{sysconfig.get_config_var('MULTIARCH') or ''}".rstrip("/"), "/usr/lib/mosquitto",
    "/usr/lib64", "/usr/lib", "/usr/local/lib", "/usr/local/lib64") if d))


class PkiError(ValueError):
    """A bad argument to the PKI tool (an id the contract does not allow, an unknown terminal)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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


def find_dynsec_plugin(dirs: tuple[str, ...] | None = None) -> str:
    """The path of Mosquitto's dynamic-security plugin; PkiError naming where it was looked for."""
    dirs = _PLUGIN_DIRS if dirs is None else dirs
    for d in dirs:
        path = Path(d) / DYNSEC_PLUGIN
        if path.is_file():
            return str(path)
    raise PkiError(f"Mosquitto's dynamic-security plugin ({DYNSEC_PLUGIN}) not found in {', '.join(dirs)}: "
                   "install Debian's mosquitto package (make setup), Mosquitto >= 2.0")


def terminal_role(terminal: str) -> str:
    """The dynsec role of one terminal (2.0.11 substitutes no %u in ACLs: one role each)."""
    return f"terminal-{terminal}"


def _acl(acltype: str, topic: str) -> dict:
    return {"acltype": acltype, "topic": topic, "allow": True}


def terminal_acls(terminal: str, regions: list[str] | None = None) -> list[dict]:
    """What one terminal may do, as dynsec ACLs: the same rights the contract gives it.

    Publish its requests, events, state (birth and last will) and telemetry; subscribe to and
    receive its responses and commands and the broadcasts of its regions (all of them when no
    region is given); nothing of any other terminal. Subscriptions are literal: a wildcard filter
    such as ``kiosk/v1/+/res`` matches none of them, so it is refused with SUBACK 0x87.
    """
    base = f"kiosk/v1/{terminal}"
    acls = [_acl("publishClientSend", f"{base}/{t}") for t in ("req/+", "evt", "state", "telemetry")]
    for t in (f"{base}/res", f"{base}/cmd"):
        acls += [_acl("subscribeLiteral", t), _acl("publishClientReceive", t)]
    if regions:
        # Region broadcasts are read-only: only the central service announces.
        for r in regions:
            t = f"kiosk/v1/bcast/{r}"
            acls += [_acl("subscribeLiteral", t), _acl("publishClientReceive", t)]
    else:
        acls += [_acl("subscribePattern", "kiosk/v1/bcast/#"), _acl("publishClientReceive", "kiosk/v1/bcast/#")]
    return acls


def dynsec_config(terminals: list[str], regions: list[str] | None = None, central: str = CENTRAL_CN,
                  admin: str = ADMIN_CN) -> dict:
    """The dynamic-security plugin's config: one client (username = certificate CN, no password:
    the certificate is the identity) and one role per terminal, the central service, the admin."""
    clients = [{"username": t, "roles": [{"rolename": terminal_role(t)}]} for t in terminals]
    clients += [{"username": central, "roles": [{"rolename": "central"}]},
                {"username": admin, "roles": [{"rolename": "dynsec-admin"}]}]
    roles = [{"rolename": terminal_role(t), "acls": terminal_acls(t, regions)} for t in terminals]
    # The central service: every terminal's subtree and the broadcasts, also through its shared
    # subscriptions (the plugin sees the whole "$share/central/..." filter).
    roles.append({"rolename": "central", "acls": [
        _acl("publishClientSend", "kiosk/v1/#"), _acl("publishClientReceive", "kiosk/v1/#"),
        _acl("subscribePattern", "kiosk/v1/#"), _acl("subscribePattern", "$share/central/kiosk/v1/#")]})
    # The administrator: the plugin's control topic only (mosquitto_ctrl), no kiosk traffic.
    ctl = "$CONTROL/dynamic-security/#"
    roles.append({"rolename": "dynsec-admin", "acls": [
        _acl("publishClientSend", ctl), _acl("publishClientReceive", ctl), _acl("subscribePattern", ctl)]})
    return {
        "clients": clients,
        "roles": roles,
        "groups": [],
        # Why deny receive too: a second line behind the SUBSCRIBE check, as acl_file's "read" was.
        "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": False,
                             "subscribe": False, "unsubscribe": True},
    }


def dynsec_text(terminals: list[str], regions: list[str] | None = None) -> str:
    """:func:`dynsec_config` as the file the plugin reads (config/broker/dynamic-security.example.json)."""
    return json.dumps(dynsec_config(terminals, regions), indent=2) + "\n"


def ctrl_commands(action: str, terminal: str, regions: list[str] | None = None) -> list[list[str]]:
    """``mosquitto_ctrl`` arguments (after the connection options) that add or revoke one terminal
    on a live broker, from the same ACLs as :func:`dynsec_config`.

    ``createClient`` asks for a password on stdin: give it none (stdin from /dev/null or Return),
    the certificate is the identity. The plugin saves every change to its file at once.
    """
    if not _TERMINAL_RE.match(terminal or ""):
        raise PkiError(f"bad terminal id {terminal!r}: letters, digits, - and _ (3-64 chars)")
    role = terminal_role(terminal)
    if action == "add":
        cmds = [["dynsec", "createClient", terminal], ["dynsec", "createRole", role]]
        cmds += [["dynsec", "addRoleACL", role, a["acltype"], a["topic"], "allow"]
                 for a in terminal_acls(terminal, regions)]
        # Last: adding the role disconnects the terminal, which reconnects with its rights.
        return cmds + [["dynsec", "addClientRole", terminal, role]]
    if action == "revoke":
        # Deleting the client disconnects it; reconnecting (if the CRL still lets it) gets nothing.
        return [["dynsec", "deleteClient", terminal], ["dynsec", "deleteRole", role]]
    raise PkiError(f"unknown action {action!r}: add or revoke")


def mosquitto_conf(out: Path, port: int, *, log_file: Path | None = None, plugin: str | None = None) -> str:
    """The broker profile: TLS 1.2+ on loopback only, client certificates, CRL, dynsec, no plaintext."""
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
        f"listener {port} 127.0.0.1",
        "protocol mqtt",
        f"cafile {out / 'ca.crt'}",
        f"certfile {out / 'server.crt'}",
        f"keyfile {out / 'server.key'}",
        f"crlfile {out / 'crl.pem'}",
        "tls_version tlsv1.2",  # the minimum: TLS 1.2 and 1.3 are accepted, nothing older
        "require_certificate true",
        "use_identity_as_username true",
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

    def central_tls(self) -> dict:
        """The central service's ``tls`` dict."""
        return {"ca": str(self.ca), "cert": str(self.out / "central.crt"), "key": str(self.out / "central.key"),
                "insecure": False}

    @property
    def dynsec(self) -> Path:
        """The dynamic-security plugin's file."""
        return self.out / DYNSEC_FILE

    def ctrl_args(self) -> list[str]:
        """``mosquitto_ctrl`` connection options as the administrator (then ``dynsec ...``)."""
        return ["--cafile", str(self.ca), "--cert", str(self.out / "admin.crt"), "--key",
                str(self.out / "admin.key"), "-h", "127.0.0.1", "-p", str(self.port)]


def build(out: str | Path, terminals: list[str], *, revoke: list[str] = (), port: int | None = None,
          regions: list[str] | None = None) -> Pki:
    """Create (or extend) the PKI in ``out`` and write the dynsec file and the broker config."""
    out = Path(out)
    if port is None:  # a re-run (e.g. --revoke) keeps the port of the existing config
        old = out / "mosquitto.conf"
        m = re.search(r"^listener (\d+) ", old.read_text(), re.M) if old.exists() else None
        port = int(m.group(1)) if m else 8883
    for t in list(terminals) + list(revoke):
        if not _TERMINAL_RE.match(t):
            raise PkiError(f"bad terminal id {t!r}: letters, digits, - and _ (3-64 chars)")
    plugin = find_dynsec_plugin()  # first: nothing is written for a broker that cannot use it
    settings = out / "pki.json"  # what a re-run (e.g. --revoke) must keep: the regions
    if regions is None and settings.exists():
        regions = json.loads(settings.read_text()).get("regions")
    for r in regions or []:
        if not _REGION_RE.match(r):
            raise PkiError(f"bad region code {r!r}: 6, 9 or 12 digits")
    ca_key_path = out / "ca.key"
    if ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        ca_cert = load_cert(out / "ca.crt")
    else:
        ca_key, ca_cert = make_ca()
        write_key(ca_key_path, ca_key)
        write_cert(out / "ca.crt", ca_cert)
    for name, cn in (("server", SERVER_CN), ("central", CENTRAL_CN), ("admin", ADMIN_CN)):
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
    revoked_serials: list[int] = []
    crl_path = out / "crl.pem"
    if crl_path.exists():  # keep earlier revocations
        revoked_serials += [r.serial_number for r in x509.load_pem_x509_crl(crl_path.read_bytes())]
    for t in revoke:
        path = tdir / f"{t}.crt"
        if not path.exists():
            raise PkiError(f"cannot revoke {t}: no certificate {path}")
        revoked_serials.append(load_cert(path).serial_number)
    _write(crl_path, make_crl(ca_key, ca_cert, revoked_serials).public_bytes(serialization.Encoding.PEM))
    known = sorted(p.stem for p in tdir.glob("*.crt")) if tdir.exists() else []
    revoked_set = set(revoked_serials)
    active = [t for t in known if load_cert(tdir / f"{t}.crt").serial_number not in revoked_set]
    _write(settings, json.dumps({"regions": regions}).encode())
    # Why 0600: the file lists every identity and its rights (the plugin keeps the mode when it saves).
    _write(out / DYNSEC_FILE, dynsec_text(active, regions).encode(), private=True)
    (out / "acl").unlink(missing_ok=True)  # an acl_file of an older run: one source of truth
    _write(out / "mosquitto.conf", mosquitto_conf(out, port, plugin=plugin).encode())
    return Pki(out, port, known, list(revoke))


class PkiBroker:
    """Mosquitto running ``DIR/mosquitto.conf`` (tests, demo): ``with PkiBroker(pki) as b: b.url``."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.proc = None

    @property
    def url(self) -> str:
        """``mqtts://127.0.0.1:PORT``."""
        return self.pki.url

    def start(self, timeout_s: float = 10.0) -> "PkiBroker":
        """Start and wait until the TLS port accepts TCP connections (PkiError if the dynsec file
        did not load: the broker would run with everything denied)."""
        import socket
        import subprocess
        import time
        from hall_demo.broker import find_mosquitto
        log_path = self.pki.out / "mosquitto.log"
        log_from = log_path.stat().st_size if log_path.exists() else 0
        self.proc = subprocess.Popen([find_mosquitto(), "-c", str(self.pki.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.pki.out}/mosquitto.log")
            try:
                socket.create_connection(("127.0.0.1", self.pki.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"mosquitto did not listen on {self.pki.port}") from None
                time.sleep(0.02)
        # The plugin loads before the listener opens, so its verdict is in the log by now.
        logged = ""
        if log_path.exists():
            with open(log_path, "rb") as f:
                f.seek(log_from)
                logged = f.read().decode("utf-8", "replace")
        if "Error loading Dynamic security plugin config" in logged:
            self.stop()
            raise PkiError(f"mosquitto could not load {self.pki.dynsec} (see {log_path}): "
                           "check it exists and is readable by the broker's user")
        return self

    def reload(self) -> None:
        """SIGHUP. Mosquitto 2.0.11 then reloads neither the CRL nor the dynsec file (restart, or
        change ACLs live with ``mosquitto_ctrl``); kept for config options that it does reload."""
        import signal
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        from hall_common.procs import stop_process
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> "PkiBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """The CLI (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m hall_central.pki", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (required unless --dynsec-commands)")
    ap.add_argument("--terminals", default="", help="terminal ids, comma separated")
    ap.add_argument("--revoke", action="append", default=[], help="revoke this terminal's certificate")
    ap.add_argument("--port", type=int, default=None, help="the broker's TLS port on 127.0.0.1 (default 8883)")
    ap.add_argument("--regions", default="", help="region codes whose broadcasts terminals may read")
    ap.add_argument("--dynsec-commands", choices=("add", "revoke"), default=None,
                    help="print the mosquitto_ctrl commands that add/revoke --terminals on a live broker")
    args = ap.parse_args(argv)
    terminals = [t for t in args.terminals.split(",") if t]
    regions = [r for r in args.regions.split(",") if r] or None
    try:
        if args.dynsec_commands:
            import shlex
            for r in regions or []:
                if not _REGION_RE.match(r):
                    raise PkiError(f"bad region code {r!r}: 6, 9 or 12 digits")
            for t in terminals:
                for cmd in ctrl_commands(args.dynsec_commands, t, regions):
                    # $CTRL: mosquitto_ctrl and its connection options (config/broker/README.md).
                    print("$CTRL " + " ".join(shlex.quote(a) for a in cmd)
                          + (" </dev/null" if cmd[1] == "createClient" else ""))
            return 0
        if not args.out:
            raise PkiError("--out DIR is required")
        pki = build(args.out, terminals, revoke=args.revoke, port=args.port, regions=regions)
    except PkiError as e:
        print(f"pki: {e}", file=sys.stderr)
        return 2
    print(f"CA {pki.ca}; {len(pki.terminals)} terminal certificates; broker: mosquitto -c {pki.conf} ({pki.url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
