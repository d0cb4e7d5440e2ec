"""The identities at the broker and their rights: Mosquitto's dynamic-security plugin (for central/hall_central/pki.py).

Owns the names the certificates carry (a terminal's id, ``central.kiosk`` and one name per further
central instance, ``admin.kiosk``), the ACLs of each (:func:`terminal_acls`, :func:`dynsec_config`:
the file the plugin reads) and the ``mosquitto_ctrl dynsec`` commands that make the same change on
a live broker (:func:`ctrl_commands`; ``python -m hall_central.pki --dynsec-commands add|revoke``).

What Mosquitto 2.0.11 (Debian 12) does with it, found by experiment (tests/security):

- With ``use_identity_as_username`` the broker takes the username from the certificate and never
  calls the plugin's password check: a dynsec client needs no password, and neither a client
  marked ``disabled`` nor a certificate with no dynsec client at all is refused a session. Access
  is decided per packet by the ACLs: a certificate without a client (or a client without a role)
  is connected but denied every publish and subscribe.
- ``disableClient`` and ``deleteClient`` disconnect the client's live connection at once, but do
  not stop it reconnecting: the CRL does that (Mosquitto re-reads it on SIGHUP). So a revocation
  is: CRL, reload, then ``deleteClient`` (:func:`ctrl_commands` ``revoke``; config/broker/README.md).
- The plugin does not substitute ``%u`` / ``%c`` in 2.0.11 (it arrives in 2.1), so each terminal
  has a role of its own; SIGHUP does not reload the plugin's file (``mosquitto_ctrl`` or a restart
  does); a change to a client's roles or a role's ACLs disconnects the clients concerned, which
  reconnect and subscribe again; a missing or unreadable file leaves the broker up with every
  publish and subscribe denied (it logs "Error loading Dynamic security plugin config").
"""
from __future__ import annotations

import json
import re
import sysconfig
from pathlib import Path

from kiosk.network.operations import OPS

#: The central service's identity (its username, and with ``use_username_as_clientid`` its client
#: id, at the broker). Why a dot: terminal ids may not contain one (kiosk.network.topics), so no
#: terminal can ever be issued this name.
CENTRAL_CN = "central.kiosk"
#: The instance id (``python -m hall_central --instance``) whose certificate carries CENTRAL_CN;
#: instance ``X`` gets ``central-X.kiosk``. Why one identity per instance: the broker makes the
#: certificate's name the client id, so two processes with one certificate would take each
#: other's connection over, endlessly.
FIRST_INSTANCE = "c1"
#: The broker administrator's identity (``mosquitto_ctrl dynsec``): a dot again, so no terminal
#: can be issued it.
ADMIN_CN = "admin.kiosk"
#: The role every central instance holds.
CENTRAL_ROLE = "central"
TERMINAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
_INSTANCE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
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


def check_terminal(terminal: str) -> str:
    """``terminal`` if it is a valid terminal id, else PkiError."""
    if not TERMINAL_RE.match(terminal or ""):
        raise PkiError(f"bad terminal id {terminal!r}: letters, digits, - and _ (3-64 chars)")
    return terminal


def central_cn(instance: str = FIRST_INSTANCE) -> str:
    """The certificate CN (broker username and client id) of one central service instance."""
    if instance == FIRST_INSTANCE:
        return CENTRAL_CN
    if not _INSTANCE_RE.match(instance or ""):
        raise PkiError(f"bad central instance id {instance!r}: lower-case letters, digits and - (1-32 chars)")
    return f"central-{instance}.kiosk"


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
    # One request topic per operation of the contract, not ``req/+``: with a wildcard a terminal
    # could leave a retained message on any number of invented topics (``req/junk1`` ...), which
    # the broker keeps in memory and on disk with no per-client limit in Mosquitto 2.0 (a cold try
    # for issue 13 stored 200 x 250 KB). Now a terminal's retained footprint is bounded by the
    # operations it has (kiosk.network.operations.OPS) times max_packet_size.
    acls = [_acl("publishClientSend", f"{base}/req/{op}") for op in OPS]
    acls += [_acl("publishClientSend", f"{base}/{t}") for t in ("evt", "state", "telemetry")]
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


def dynsec_config(terminals: list[str], regions: list[str] | None = None,
                  centrals: list[str] | tuple[str, ...] = (CENTRAL_CN,), admin: str = ADMIN_CN) -> dict:
    """The dynamic-security plugin's config: one client (username = certificate CN, no password:
    the certificate is the identity) and one role per terminal, each central instance (one role
    for all of them), the admin."""
    clients = [{"username": t, "roles": [{"rolename": terminal_role(t)}]} for t in terminals]
    clients += [{"username": c, "roles": [{"rolename": CENTRAL_ROLE}]} for c in centrals]
    clients.append({"username": admin, "roles": [{"rolename": "dynsec-admin"}]})
    roles = [{"rolename": terminal_role(t), "acls": terminal_acls(t, regions)} for t in terminals]
    # The central service: every terminal's subtree and the broadcasts, also through its shared
    # subscriptions (the plugin sees the whole "$share/central/..." filter).
    roles.append({"rolename": CENTRAL_ROLE, "acls": [
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


def dynsec_text(terminals: list[str], regions: list[str] | None = None,
                centrals: list[str] | tuple[str, ...] = (CENTRAL_CN,)) -> str:
    """:func:`dynsec_config` as the file the plugin reads (config/broker/dynamic-security.example.json)."""
    return json.dumps(dynsec_config(terminals, regions, centrals), indent=2) + "\n"


def ctrl_commands(action: str, terminal: str, regions: list[str] | None = None) -> list[list[str]]:
    """``mosquitto_ctrl`` arguments (after the connection options) that add or revoke one terminal
    on a live broker, from the same ACLs as :func:`dynsec_config`.

    ``createClient`` asks for a password on stdin: give it none (stdin from /dev/null or Return),
    the certificate is the identity. The plugin saves every change to its file at once.
    """
    check_terminal(terminal)
    role = terminal_role(terminal)
    if action == "add":
        cmds = [["dynsec", "createClient", terminal], ["dynsec", "createRole", role]]
        cmds += [["dynsec", "addRoleACL", role, a["acltype"], a["topic"], "allow"]
                 for a in terminal_acls(terminal, regions)]
        # Last: adding the role disconnects the terminal, which reconnects with its rights.
        return cmds + [["dynsec", "addClientRole", terminal, role]]
    if action == "revoke":
        # Deleting the client disconnects it at once; run it after the CRL is reloaded, which is
        # what refuses the reconnection (with the client gone it would get a session with no rights).
        return [["dynsec", "deleteClient", terminal], ["dynsec", "deleteRole", role]]
    raise PkiError(f"unknown action {action!r}: add or revoke")


def ctrl_lines(action: str, terminals: list[str], regions: list[str] | None = None) -> list[str]:
    """:func:`ctrl_commands` as shell lines, ``$CTRL`` standing for ``mosquitto_ctrl`` and its
    connection options as the administrator (config/broker/README.md)."""
    import shlex
    lines = []
    for t in terminals:
        for cmd in ctrl_commands(action, t, regions):
            lines.append("$CTRL " + " ".join(shlex.quote(a) for a in cmd)
                         + (" </dev/null" if cmd[1] == "createClient" else ""))
    return lines
