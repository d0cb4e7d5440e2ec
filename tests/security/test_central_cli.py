"""``python -m hall_central`` against the production broker profile (real Mosquitto, mutual TLS):
it connects with its own client certificate and answers a terminal's request.

Before: the command line had no TLS options, so only the Python API could reach this broker.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hall_central.__main__ import main
from hall_common.procs import stop_process
from kiosk.network import envelope, schemas, topics

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str]) -> tuple[subprocess.Popen, queue.Queue]:
    p = subprocess.Popen([sys.executable, "-m", "hall_central", *args, "--log-level", "warning"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=pump, daemon=True).start()
    return p, lines


@pytest.mark.parametrize("how", ["cert-options", "pki-dir"])
def test_the_command_line_serves_a_terminal_over_mutual_tls(pki_dir, tls_broker, probes, tmp_path, how):
    tls = pki_dir.central_tls()
    creds = (["--cafile", tls["ca"], "--cert", tls["cert"], "--key", tls["key"]] if how == "cert-options"
             else ["--pki", str(pki_dir.out)])
    proc, lines = _start(["--broker", tls_broker.url, "--db", str(tmp_path / "central.db"), *creds])
    try:
        try:
            ready = lines.get(timeout=60)
        except queue.Empty:
            ready = None
        assert ready and json.loads(ready)["ready"], (ready, proc.poll())

        terminal = probes(pki_dir.terminal_tls("ZM-0001"), "ZM-0001")
        assert terminal.try_connect()
        assert not terminal.subscribe(topics.res("ZM-0001")).is_failure
        req = envelope.request("ZM-0001", "catalogue.sync", {"since_version": 0})
        assert not terminal.publish(topics.req("ZM-0001", "catalogue.sync"), req.to_bytes()).is_failure
        [(_, raw)] = terminal.wait_messages(lambda m: m, "the central service's answer", timeout_s=30)
        answer = json.loads(raw)
        schemas.validate_message(topics.res("ZM-0001"), answer)
        assert answer["corr"] == req.id and answer["body"]["ok"], answer
        assert answer["body"]["result"]["items"], "an empty catalogue is no real answer"
    finally:
        stop_process(proc)
    assert proc.returncode == 0, proc.stderr.read()  # SIGTERM: a clean stop


def test_a_broker_it_cannot_trust_is_one_line_and_exit_2(pki_dir, tls_broker, tmp_path):
    tls = pki_dir.central_tls()
    foreign_ca = str(pki_dir.out / "bad" / "foreign-ca.crt")
    proc, lines = _start(["--broker", tls_broker.url, "--db", str(tmp_path / "c.db"), "--cafile", foreign_ca,
                          "--cert", tls["cert"], "--key", tls["key"]])
    try:
        assert proc.wait(60) == 2
    finally:
        stop_process(proc)
    err = proc.stderr.read().strip().splitlines()
    assert len(err) == 1 and "cannot serve on mqtts://" in err[0] and "certificate verify failed" in err[0], err
    assert lines.get(timeout=10) is None  # no ready line


@pytest.mark.parametrize("args, says", [
    (["--broker", "mqtts://127.0.0.1:8883"], "needs --cafile, --cert and --key"),
    (["--broker", "mqtt://127.0.0.1:1883", "--cert", "c.crt"], "need an mqtts:// broker URL"),
    (["--broker", "mqtts://127.0.0.1:8883", "--pki", "{pki}", "--cert", "c.crt"], "not both"),
    (["--broker", "mqtts://127.0.0.1:8883", "--pki", "{pki}", "--instance", "c2"],
     "--central-instances c2"),
    (["--broker", "mqtts://127.0.0.1:8883", "--pki", "{pki}", "--instance", "Bad Id"], "bad central instance"),
    (["--broker", "mqtts://127.0.0.1:8883", "--cafile", "{pki}/ca.crt", "--cert", "{pki}/nope.crt",
      "--key", "{pki}/central.key"], "nope.crt (--cert)"),
])
def test_options_that_cannot_work_are_one_line_and_exit_2(pki_dir, tmp_path, capsys, args, says):
    argv = [a.replace("{pki}", str(pki_dir.out)) for a in args] + ["--db", str(tmp_path / "c.db")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    assert not (tmp_path / "c.db").exists()  # refused before anything was opened
