"""Revoking a terminal on a live broker, as config/broker/README.md tells the operator to: no restart,
nobody else dropped. Real Mosquitto with the production profile of central/hall_central/pki.py.

Before: a revocation needed a broker restart (the whole fleet dropped), and ``deleteClient``
alone let the terminal straight back in with a session.
"""
from __future__ import annotations

import os
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.trust.tls import client_context
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REVOKE = "ZM-0002"
STAY = ("ZM-0001", "ZM-E2E-0001")


def _pki_cli(*args: str) -> list[str]:
    r = subprocess.run([sys.executable, "-m", "hall_central.pki", *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def _run_as_operator(lines: list[str], pki_dir) -> None:
    """The printed ``$CTRL ...`` lines through a shell, ``$CTRL`` set as config/broker/README.md says."""
    ctrl = shutil.which("mosquitto_ctrl")
    assert ctrl, "mosquitto_ctrl missing: it comes with Debian's mosquitto package (make setup)"
    env = dict(os.environ, CTRL=" ".join(shlex.quote(a) for a in [ctrl, *pki_dir.ctrl_args()]))
    script = "set -e\n" + "\n".join(ln for ln in lines if not ln.startswith("#"))
    r = subprocess.run(["bash", "-c", script], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, (script, r.stdout, r.stderr)


def _tls_refused(pki_dir, terminal: str, verdict_s: float = 5.0) -> bool:
    """True when the broker refuses ``terminal``'s certificate in the TLS handshake.

    Why not an MQTT connection: one that succeeded would take the live terminal's client id over
    (use_username_as_clientid). With TLS 1.3 the server judges the client's certificate after the
    client has finished its side of the handshake, so the verdict is an alert on the first read; an
    accepted certificate just waits for a CONNECT, which never comes (no verdict within
    ``verdict_s``: not refused).
    """
    tls = pki_dir.terminal_tls(terminal)
    ctx = client_context(tls["ca"], tls["cert"], tls["key"])
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", pki_dir.port), timeout=5),
                             server_hostname="127.0.0.1") as s:
            s.settimeout(verdict_s)
            return s.recv(1) == b""
    except TimeoutError:
        return False
    except (ssl.SSLError, OSError):
        return True


def _round_trip(central, probe, terminal: str, payload: bytes) -> None:
    assert not central.publish(f"kiosk/v1/{terminal}/res", payload).is_failure
    probe.wait_messages(lambda m: (f"kiosk/v1/{terminal}/res", payload) in m, f"{terminal}'s answer")


def test_revoking_a_terminal_on_the_live_broker(pki_dir, tls_broker, probes):
    central = probes(pki_dir.central_tls(), "central-test")
    assert central.try_connect()
    fleet = {t: probes(pki_dir.terminal_tls(t), t) for t in (*STAY, REVOKE)}
    for t, p in fleet.items():
        assert p.try_connect(clean_start=True, session_expiry_s=3600), t
        assert not p.subscribe(f"kiosk/v1/{t}/res").is_failure
    victim = fleet[REVOKE]

    # 1. The CRL (the only file touched next to a running broker), 2. reload, 3. the printed commands.
    dynsec_before, conf_before = pki_dir.dynsec.read_text(), pki_dir.conf.read_text()
    steps = _pki_cli("--out", str(pki_dir.out), "--revoke", REVOKE, "--live")
    assert (pki_dir.dynsec.read_text(), pki_dir.conf.read_text()) == (dynsec_before, conf_before)
    assert _pki_cli("--dynsec-commands", "revoke", "--terminals", REVOKE) == \
        [ln for ln in steps if not ln.startswith("#")]
    tls_broker.reload()

    def refused() -> bool:
        return _tls_refused(pki_dir, REVOKE)
    # Polled: SIGHUP is handled in the broker's next loop turn, not by the time kill() returns.
    wait_for(lambda: _tls_refused(pki_dir, REVOKE, verdict_s=1.0), 30,
             "the reloaded broker to refuse the revoked certificate")
    # The reload dropped nobody, not even the revoked terminal's live connection.
    assert not any(p.closed.is_set() for p in (central, *fleet.values()))

    _run_as_operator(steps, pki_dir)
    assert victim.closed.wait(10), "deleteClient did not disconnect the revoked terminal"
    assert refused(), "the revoked terminal got back in"
    # Every other terminal and the central service kept their one connection, and it works.
    for t in STAY:
        assert not fleet[t].closed.is_set() and fleet[t].connects == 1, t
        _round_trip(central, fleet[t], t, b"after-revocation")
    assert not central.closed.is_set() and central.connects == 1
    assert REVOKE not in pki_dir.dynsec.read_text()  # the plugin saved its state at once

    # A restart keeps the revocation (the CRL and the plugin's file), and lets the others back in.
    tls_broker.stop()
    tls_broker.start()
    assert refused(), "the revoked terminal got back in after a restart"
    again = probes(pki_dir.terminal_tls(STAY[0]), STAY[0])
    assert again.try_connect(clean_start=False, session_expiry_s=3600)
    assert not again.publish(f"kiosk/v1/{STAY[0]}/req/checkin", b"x").is_failure
