"""A private PC/SC stack for tests and the demo: our own pcscd with the vpcd driver on a free port.

Why private: tests must not depend on (or disturb) a pcscd the machine may run, and they restart
pcscd on purpose. How, without changing the system:
- pcscd 1.9.9 hard-codes its socket (/run/pcscd/pcscd.comm) and ignores PCSCLITE_CSOCK_NAME, but
  it supports systemd socket activation. We bind the listening UNIX socket at a private path
  ourselves and hand it over as fd 3 with ``LISTEN_FDS=1``/``LISTEN_PID`` (set by a tiny ``sh``
  wrapper so that LISTEN_PID is pcscd's own pid after ``exec``).
- the client library (libpcsclite, used by pyscard) honours ``PCSCLITE_CSOCK_NAME`` but reads it
  ONCE per process, at its first connection attempt. :func:`use_private_socket` therefore fixes
  one socket path per process and must run before anything in the process touches PC/SC;
  restarts reuse that path. (Another process can point pyscard at the stack with ``stack.env``.)
- the reader config (``-c DIR``, a reader.conf.d directory) loads libifdvpcd.so on our port; vpcd
  opens two slots, on ``port`` and ``port + 1``, named "<name> 00 00" and "<name> 00 01".
- pcscd still writes and removes /run/pcscd/pcscd.pid, and refuses to start while that file names
  a live pcscd: where we may (root, with util-linux's ``unshare``), pcscd therefore runs in a mount
  namespace of its own with a private tmpfs on /run/pcscd, so any number of private stacks (one
  per test process, the demo, a system pcscd) run side by side without touching each other's pid
  file. Elsewhere it falls back to the shared /run/pcscd (one stack at a time).
Limits: vpcd listens on all interfaces: never run the stack on a production terminal.
``python -m firmware_bridge.pcsc.stack`` runs one in the foreground with a virtual card.
"""
from __future__ import annotations

import atexit
import collections
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from hall_common.errors import DeviceUnavailable
from hall_common.procs import stop_process

SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#: Why a bound: pcscd starts in ~10 ms here; a hung start must fail the test, not hang it.
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
_READY_LINE = "daemon ready"
#: Where pcscd 1.9.9 writes its pid file (hard-coded).
RUN_DIR = "/run/pcscd"

_socket_lock = threading.Lock()


def private_run_prefix() -> list[str]:
    """The command prefix that gives pcscd a mount namespace of its own (empty where we may not)."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return []
    return [unshare, "--mount", "--propagation", "private"]


class StackError(DeviceUnavailable):
    """The private pcscd could not start (binary or driver missing, no permission, port taken)."""

    code = "smartcard.stack"


def use_private_socket() -> str:
    """This process's pcscd socket path; sets PCSCLITE_CSOCK_NAME if it was not set yet."""
    with _socket_lock:
        path = os.environ.get(SOCKET_ENV)
        if not path:
            tmp = tempfile.mkdtemp(prefix="kiosk-pcsc-")
            atexit.register(shutil.rmtree, tmp, True)
            path = os.path.join(tmp, "pcscd.comm")
            os.environ[SOCKET_ENV] = path
        return path


def free_port_pair() -> int:
    """A TCP port p such that p and p+1 are free on all interfaces (vpcd binds both)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("0.0.0.0", 0))
            port: int = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("0.0.0.0", port + 1))
                except OSError:
                    continue
                return port
    raise StackError("no free pair of TCP ports for vpcd", action="free some ports and retry")


def _answers(path: str) -> bool:
    """Whether a process listens on the UNIX socket ``path`` (a stale one refuses the connection)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(START_TIMEOUT_S)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


class PcscStack:
    """pcscd + vpcd on ``port`` (0 = a free pair); ``start()``/``stop()``/``restart()``."""

    def __init__(self, port: int = 0, name: str = "Kiosk VPCD", debug: bool = False) -> None:
        self.port = port or free_port_pair()
        self.name = name
        self.debug = debug
        self.socket_path = use_private_socket()
        self.proc: subprocess.Popen[str] | None = None
        #: True when pcscd runs with a private /run/pcscd (see :func:`private_run_prefix`).
        self.private_run = False
        self.log_tail: collections.deque[str] = collections.deque(maxlen=50)
        self._ready = threading.Event()
        self._drain: threading.Thread | None = None
        self._conf_dir: str | None = None
        #: The inode of the socket this stack bound (None when stopped): stop() removes only it.
        self._socket_ino: int | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child process that should use this stack."""
        return dict(os.environ, **{SOCKET_ENV: self.socket_path})

    @property
    def readers(self) -> list[str]:
        """The two vpcd slot names as pcscd reports them."""
        return [f"{self.name} 00 00", f"{self.name} 00 01"]

    @property
    def slot_ports(self) -> list[int]:
        """The TCP ports a virtual card connects to, per slot."""
        return [self.port, self.port + 1]

    def config_text(self) -> str:
        """The reader.conf entry pcscd loads (CHANNELID is the TCP port vpcd listens on)."""
        return (f'FRIENDLYNAME "{self.name}"\n'
                f"DEVICENAME   /dev/null:0x{self.port:X}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    0x{self.port:X}\n")

    def start(self) -> PcscStack:
        """Start pcscd and wait until it reports ready; raise :class:`StackError` if it cannot."""
        if self.proc is not None:
            return self
        for path in (PCSCD, VPCD_DRIVER):
            if not os.path.exists(path):
                raise StackError(f"{path} not found",
                                 action="install the Debian packages pcscd and vsmartcard-vpcd")
        if os.path.exists(self.socket_path):
            if _answers(self.socket_path):
                # Another process's live stack: replacing its socket would hand its clients (and
                # ours) to whichever pcscd bound last, with the same reader names, so a card in one
                # stack's reader never shows in the other's client (check-layout --jobs 2 did that).
                raise StackError(f"{self.socket_path} is the socket of another running pcscd: two "
                                 f"stacks were handed the same {SOCKET_ENV}",
                                 action=f"start each stack's process without {SOCKET_ENV} in its "
                                        "environment (each picks a private one)")
            os.unlink(self.socket_path)  # stale socket from a killed pcscd
        self._conf_dir = tempfile.mkdtemp(prefix="kiosk-pcsc-conf-")
        Path(self._conf_dir, "vpcd").write_text(self.config_text())
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.socket_path)
            listener.listen(64)
            os.chmod(self.socket_path, 0o666)
            self._socket_ino = os.stat(self.socket_path).st_ino
            args = [PCSCD, "--foreground", "--config", self._conf_dir, "-d" if self.debug else "-i"]
            # fd 0 -> fd 3 (sd_listen_fds' first fd), then LISTEN_PID = our pid, kept by exec (and
            # by unshare, which execs without forking: the pid stays pcscd's own).
            wrapper = 'exec 3<&0 0</dev/null; LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'
            private = private_run_prefix()
            if private:
                wrapper = f"mkdir -p {RUN_DIR} && mount -t tmpfs -o mode=0755 tmpfs {RUN_DIR} && {wrapper}"
            self.private_run = bool(private)
            self._ready.clear()
            self.proc = subprocess.Popen([*private, "/bin/sh", "-c", wrapper, *args], stdin=listener.fileno(),
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         env=dict(os.environ, LISTEN_FDS="1"), text=True,
                                         errors="replace")
        finally:
            listener.close()  # pcscd holds its own copy
        self._drain = threading.Thread(target=self._read_log, args=(self.proc,), daemon=True,
                                       name="pcscd-log")
        self._drain.start()
        if not self._ready.wait(START_TIMEOUT_S) or self.proc.poll() is not None:
            tail = " | ".join(list(self.log_tail)[-5:])
            self.stop()
            raise StackError(f"pcscd did not start: {tail or 'no output'}",
                             action="check /run/pcscd is writable and the vpcd port is free")
        self._check_client()
        return self

    def _check_client(self) -> None:
        """Fail loudly if this process's PC/SC client talks to another pcscd (socket fixed too early)."""
        from smartcard import scard
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        readers: list[str] = []
        if hr == scard.SCARD_S_SUCCESS:
            _hr, readers = scard.SCardListReaders(ctx, [])
            scard.SCardReleaseContext(ctx)
        if not set(self.readers) <= set(readers or []):
            self.stop()
            raise StackError("this process's PC/SC client does not see the private pcscd: libpcsclite "
                             "read PCSCLITE_CSOCK_NAME before the stack set it",
                             action="create the PcscStack (or call use_private_socket) before any "
                                    "other PC/SC use in the process")

    def _read_log(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log_tail.append(line.rstrip())
            if _READY_LINE in line:
                self._ready.set()
        self._ready.set()  # EOF: pcscd exited; start() checks poll()

    def stop(self) -> None:
        """Stop pcscd (SIGTERM, then SIGKILL) and remove its socket and config."""
        proc, self.proc = self.proc, None
        stop_process(proc, STOP_TIMEOUT_S)
        if self._drain is not None:
            self._drain.join(STOP_TIMEOUT_S)
            self._drain = None
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        # Only our own socket: a path that another stack bound since is not ours to remove.
        try:
            if self._socket_ino is not None and os.stat(self.socket_path).st_ino == self._socket_ino:
                os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        self._socket_ino = None
        self._remove_conf()

    def _remove_conf(self) -> None:
        if self._conf_dir:
            shutil.rmtree(self._conf_dir, ignore_errors=True)
            self._conf_dir = None

    def restart(self) -> PcscStack:
        """Stop and start again on the same socket and port (a pcscd crash or upgrade)."""
        self.stop()
        return self.start()

    def __enter__(self) -> PcscStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - manual demo
    """Run a stack with a virtual social-security card in slot 0 until Ctrl-C."""
    from firmware_bridge.pcsc.profile import load_profile
    from firmware_bridge.pcsc.vicc import CardModel, VirtualCard, synthetic_citizen

    with PcscStack() as stack:
        card = VirtualCard(CardModel(load_profile("social-security"), synthetic_citizen(), t0=True),
                           stack.port)
        card.insert()
        print(f"{SOCKET_ENV}={stack.socket_path}  reader={stack.readers[0]!r}  port={stack.port}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            card.remove()


if __name__ == "__main__":  # pragma: no cover
    main()
