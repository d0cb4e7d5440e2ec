"""Start a private Mosquitto on a free loopback port (demo, tests, fleet, bench), or one with the
production profile of a PKI directory (:class:`PkiBroker`).

Why a private broker: the tests and the demo must not depend on (or disturb) a broker the
machine may already run. The config is ours: loopback only, anonymous allowed (development),
``set_tcp_nodelay true`` (PITFALLS.md: 44-88 ms per round trip without it), no persistence
unless asked, and the same size, inflight and queue limits as production (:func:`limit_lines`),
so nothing passes here that the production broker would refuse
(:mod:`hall_central.broker_profile`).
``python -m hall_demo.broker`` runs one in the foreground and prints its URL.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from hall_central.broker_profile import find_mosquitto, limit_lines
from hall_central.pki import Pki, PkiError
from hall_common.procs import stop_process


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ipv6_loopback() -> bool:
    """True if this machine can bind ::1 (some containers have no IPv6 at all)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


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

    def start(self, timeout_s: float = 10.0) -> Broker:
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

    def __enter__(self) -> Broker:
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
        assert b.proc is not None  # started by the with
        try:
            b.proc.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()


class PkiBroker:
    """Mosquitto running ``DIR/mosquitto.conf`` (tests, demo): ``with PkiBroker(pki) as b: b.url``."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``mqtts://127.0.0.1:PORT``."""
        return self.pki.url

    def start(self, timeout_s: float = 10.0) -> PkiBroker:
        """Start and wait until the TLS port accepts TCP connections (PkiError if the dynsec file
        did not load: the broker would run with everything denied)."""
        import socket
        import subprocess
        import time
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
        """SIGHUP (``systemctl reload mosquitto`` in production). Mosquitto 2.0.11 then re-reads the
        CRL for new handshakes and keeps every connection; it does not reload the dynsec file
        (change ACLs live with ``mosquitto_ctrl``) nor ``use_username_as_clientid``."""
        import signal
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        from hall_common.procs import stop_process
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> PkiBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
