"""Start a private Mosquitto on a free loopback port (demo, tests, fleet, bench), and the broker
limits every profile we ship shares (this one, tools/pki.py's, config/broker/mosquitto.conf).

Why a private broker: the tests and the demo must not depend on (or disturb) a broker the
machine may already run. The config is ours: loopback only, anonymous allowed (development),
``set_tcp_nodelay true`` (PITFALLS.md: 44-88 ms per round trip without it), no persistence
unless asked, and the same size, inflight and queue limits as production (:func:`limit_lines`),
so nothing passes here that the production broker would refuse.
``python -m tools.broker`` runs one in the foreground and prints its URL.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from kiosk.network.envelope import MAX_BYTES
from tools.procs import stop_process

#: ``max_packet_size``: the largest MQTT packet a client may send, in bytes. The largest legitimate
#: message is an ``upload.chunk`` request: 48 KiB of photo is 65,536 Base64 characters, in an
#: envelope with the longest ids the schemas allow 66,240 bytes (tests/security/test_broker_limits.py
#: builds it); a ``catalogue.sync`` answer for the 46 seeded items is ~59 KB. The bound is the
#: envelope's own cap (kiosk.network.envelope.MAX_BYTES, 256 KiB: ~4x the chunk, and every reader
#: refuses more anyway) plus 1 KiB for the rest of a PUBLISH (the longest topic
#: ``kiosk/v1/<64>/req/<64-char op>`` is 142 bytes; packet id, properties, fixed header: < 20).
#: Why max_packet_size and not message_size_limit: Mosquitto checks it against the length header
#: before reading the body, so a 100 MB packet costs the broker nothing (the sender is
#: disconnected with reason 0x95 and was told the limit in its CONNACK). message_size_limit reads
#: the whole packet into memory first, and 2.0.11 then answers with PUBACK 0x95, a code MQTT v5
#: does not allow in a PUBACK: paho drops the connection on it anyway (found by experiment).
MAX_PACKET_SIZE = MAX_BYTES + 1024
#: ``max_inflight_messages``: QoS 1 messages in flight from the broker to one client (also its MQTT v5
#: Receive Maximum). Why 100, not Mosquitto's 20: one central instance's connection carries the
#: requests of the whole fleet; a terminal never has more than a handful in flight.
MAX_INFLIGHT_MESSAGES = 100
#: ``max_queued_messages``: QoS 1 messages queued for one client beyond those in flight, also while
#: it is offline with a persistent session (the gateway asks for 7 days). Mosquitto silently drops
#: what exceeds it. A terminal gets a few broadcasts a day per region level, rare commands and the
#: answers to the requests it had in flight: a week offline stays two orders of magnitude below.
#: The limit is per client and global, so it is sized for the central service's connection: when
#: a whole fleet comes back after an outage, every outbox drains at once (100 in flight per
#: gateway), and what the central's queue drops waits for the outbox's next retry.
MAX_QUEUED_MESSAGES = 100_000
#: ``max_queued_bytes``: the same queue's memory bound, whatever the messages' size: a terminal
#: flooding its own request topic with maximal messages fills the central's queue to this, not to
#: 100,000 x 256 KiB.
MAX_QUEUED_BYTES = 128 * 1024 * 1024


def limit_lines() -> list[str]:
    """The size, inflight and queue limits, as mosquitto.conf lines (every profile we ship)."""
    return [f"max_packet_size {MAX_PACKET_SIZE}", f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}", f"max_queued_bytes {MAX_QUEUED_BYTES}"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_mosquitto() -> str:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin)."""
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise FileNotFoundError("mosquitto not found: run `make setup` (Debian package mosquitto)")


class Broker:
    """A Mosquitto child process on a free port; ``with Broker() as b: b.url``."""

    def __init__(self, port: int | None = None, workdir: str | Path | None = None,
                 persistence: bool = False, extra_conf: str = "") -> None:
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kiosk-broker-"))
        self.persistence = persistence
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        """The mosquitto.conf this broker runs with."""
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "set_tcp_nodelay true",
            *limit_lines(),
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        return "\n".join(lines) + "\n" + self.extra_conf

    def start(self, timeout_s: float = 10.0) -> "Broker":
        """Start and wait until the port accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        log = open(self.workdir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([find_mosquitto(), "-c", str(conf)], stdout=log, stderr=log,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.workdir}/mosquitto.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL)."""
        stop_process(self.proc)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def cleanup(self) -> None:
        """Stop and remove the work directory if we made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


def main() -> None:
    """Run a broker in the foreground."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    with Broker(port=args.port or None) as b:
        print(b.url, flush=True)
        try:
            b.proc.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
