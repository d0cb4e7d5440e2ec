"""A private systemd user manager for tests: real systemd, isolated from the host.

Why: the deployment units (deploy/) promise Type=notify, a watchdog, restarts and limits; only a
real systemd proves them. The test machines run as root without systemd as PID 1, but
``systemd --user`` runs anywhere once it believes it was booted with systemd. This module starts
one inside a private mount namespace (``unshare -m``) where:

- ``/run`` is an empty tmpfs holding ``systemd/system`` (the "booted with systemd" check). Why a
  tmpfs over all of /run: nothing is created on the host, and /run is a mount point as on a booted
  system (with ProtectKernelTunables= or ProtectControlGroups= systemd gives a service an empty
  /run of its own if /run is none, and the notify socket below it would vanish);
- ``/sys/fs/cgroup`` is the unified (v2) hierarchy alone, and the manager runs in a new cgroup
  below the caller's own one (``<caller's cgroup>/sdman-...``). Why: a manager that sees the v1
  controller hierarchies moves the processes of its cgroup into the same path in each of them (on
  a host whose processes all sit in ``/init.scope`` it moves every one of them); cgroup v2 alone
  touches nothing else, keeps our processes inside the caller's accounting, and tells systemd
  when a unit's cgroup is empty (with only the v1 ``name=systemd`` hierarchy a user manager learns
  that only for its direct children, and waits TimeoutStopSec for the rest);
- ``/run/systemd/inaccessible/`` holds the mode-0000 nodes that PID 1 would have created; the
  sandboxing options (ProtectKernelLogs=, InaccessiblePaths=) mount them over what they hide;
- ``$XDG_RUNTIME_DIR`` is ``/run/systemd/sdman`` on that tmpfs, not in the work directory. Why:
  a unit with PrivateTmp= would not see a notify socket under /tmp, and systemd removes a unit's
  RuntimeDirectory= only from a tmpfs (``/run/user/UID`` is one);
- ``/dev/console`` and ``/dev/kmsg`` are bind mounts of a FIFO that the wrapper copies into
  ``<workdir>/console.log``. Why: without a journal a user manager logs to ``/dev/console`` (only
  if it is a tty) and failed executions to ``/dev/kmsg``; we run it with ``--log-target=kmsg`` so
  that both land in the test's log, never on the host's console or kernel log. A FIFO, not the
  file itself: each writer opens without O_APPEND and would overwrite the others from offset 0.

Units are read from ``<workdir>/units`` first (``SYSTEMD_UNIT_PATH``), then Debian's user units
(for ``exit.target``); our own empty ``default.target`` and ``basic.target`` shadow Debian's so
that nothing else (D-Bus, gpg-agent sockets) starts. ``HOME``, ``XDG_CONFIG_HOME`` and
``XDG_STATE_HOME`` point into the work directory, ``XDG_RUNTIME_DIR`` into the namespace's
tmpfs: nothing lands in ``/root`` or ``/run/user``. :meth:`UserManager.stop` makes the manager
exit (stopping its units), kills whatever is left in its cgroup, removes the cgroup and, if it
made it, the work directory. On the host only the work directory and that cgroup are created.

Needs root, ``unshare`` and ``nsenter`` (util-linux) and systemd (Debian package ``systemd``).
"""
from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SYSTEMD = "/lib/systemd/systemd"
DEBIAN_USER_UNITS = "/usr/lib/systemd/user"
#: The manager's $XDG_RUNTIME_DIR, on the namespace's private /run/systemd tmpfs.
RUNTIME_DIR = "/run/systemd/sdman"

#: Runs as PID of the manager's namespace; $1 = work dir, $2 = cgroup name. Stays the manager's
#: parent so that it can clean up after it: SIGTERM -> the manager exits (exit.target stops every
#: unit within its TimeoutStopSec) -> SIGKILL for anything left in the cgroup -> rmdir the cgroups.
_WRAPPER = r"""
set -eu
work=$1; name=$2
parent=$(sed -n 's/^0:://p' /proc/self/cgroup)
parent=${parent%/}
cg=/sys/fs/cgroup$parent/$name
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system
mkdir -p /run/systemd/inaccessible
(cd /run/systemd/inaccessible && : > reg && mkdir dir && mkfifo fifo && mknod chr c 0 0 && mknod blk b 0 0 &&
 "$SDMAN_PYTHON" -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")' && chmod 0000 reg dir fifo chr blk sock)
mkdir -m 0700 "$XDG_RUNTIME_DIR"
mkfifo "$work/kmsg"
cat "$work/kmsg" >> "$work/console.log" &
log=$!
exec 3> "$work/kmsg"
mount --bind "$work/kmsg" /dev/console
mount --bind "$work/kmsg" /dev/kmsg
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir "$cg"
echo $$ > "$cg/cgroup.procs"
sd=; stop=
trap 'stop=1; [ -z "$sd" ] || kill -TERM "$sd" 2>/dev/null || :' TERM INT
"$SDMAN_SYSTEMD" --user --log-target=kmsg --log-level="${SDMAN_LOG_LEVEL:-info}" 3>&- &
sd=$!
echo "$sd" > "$work/manager.pid"
[ -z "$stop" ] || kill -TERM "$sd"
while kill -0 "$sd" 2>/dev/null; do wait "$sd" || :; done
echo $$ > "/sys/fs/cgroup$parent/cgroup.procs"
for _ in 1 2 3 4 5 6 7 8 9 10; do
    left=$(find "$cg" -name cgroup.procs -exec cat {} +)
    [ -z "$left" ] && break
    kill -KILL $left 2>/dev/null || :
    sleep 0.2
done
find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || :
exec 3>&-
wait "$log" || :
"""

_EMPTY_TARGET = "[Unit]\nDescription=%s (hall_demo.sdman: nothing else starts)\n"


def _own_cgroup() -> str:
    """This process's cgroup in the unified (v2) hierarchy, without a trailing slash."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:].rstrip("/")
    return ""


def _pids_in_cgroup(path: str) -> list[int]:
    """PIDs whose cgroup v2 path is ``path`` or below it, read from /proc: works outside the
    namespace, and after the manager is gone."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            lines = Path(f"/proc/{entry}/cgroup").read_text().splitlines()
        except OSError:  # the process just exited
            continue
        for line in lines:
            if line.startswith("0::") and (line[3:] == path or line[3:].startswith(path + "/")):
                found.append(int(entry))
    return sorted(found)


class SystemdError(RuntimeError):
    """The private systemd user manager could not be started or did not answer."""


def available() -> str | None:
    """None if a private user manager can run here, else the reason (for a skip message)."""
    if os.geteuid() != 0:
        return "needs root (mount namespace, cgroup mount)"
    for exe in ("unshare", "nsenter", "systemctl"):
        if not shutil.which(exe):
            return f"{exe} not found (Debian packages util-linux / systemd)"
    if not os.access(SYSTEMD, os.X_OK):
        return f"{SYSTEMD} not found (Debian package systemd)"
    return None


class UserManager:
    """``systemd --user`` in a private mount namespace; ``with UserManager() as m: m.systemctl(...)``."""

    def __init__(self, workdir: str | Path | None = None, log_level: str = "info") -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sdman-"))
        self.name = f"sdman-{os.getpid()}-{self.workdir.name}"
        #: The manager's cgroup (v2 path), below the one of the process that creates it.
        self.cgroup = f"{_own_cgroup()}/{self.name}"
        self.log_level = log_level
        self.units = self.workdir / "units"
        self.proc: subprocess.Popen | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def env(self) -> dict:
        """The manager's environment (its services inherit it): only what it needs."""
        w = self.workdir
        # Why one directory for both: a user manager puts StateDirectory= under
        # $XDG_CONFIG_HOME up to systemd 253 and under $XDG_STATE_HOME since 254.
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8", "HOME": str(w / "home"), "XDG_CONFIG_HOME": str(w / "xdg"),
                "XDG_STATE_HOME": str(w / "xdg"), "XDG_CACHE_HOME": str(w / "cache"),
                "XDG_DATA_HOME": str(w / "data"), "XDG_RUNTIME_DIR": RUNTIME_DIR,
                "SYSTEMD_UNIT_PATH": f"{self.units}:{DEBIAN_USER_UNITS}",
                "SDMAN_SYSTEMD": SYSTEMD, "SDMAN_LOG_LEVEL": self.log_level, "SDMAN_PYTHON": sys.executable}

    def start(self, timeout_s: float = 60.0) -> UserManager:
        """Start the manager and wait until ``is-system-running`` says running."""
        why = available()
        if why:
            raise SystemdError(f"cannot run a private systemd user manager: {why}")
        for sub in ("home", "xdg", "cache", "data", "units"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for target in ("default.target", "basic.target"):
            (self.units / target).write_text(_EMPTY_TARGET % target, encoding="utf-8")
        out = open(self.workdir / "wrapper.log", "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _WRAPPER, "sdman",
             str(self.workdir), self.name],
            env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemdError(f"the private systemd user manager exited ({self.proc.returncode}): "
                                   f"{self._tail('wrapper.log')} {self._tail('console.log')}")
            if (self.workdir / "manager.pid").exists():
                r = self.systemctl("is-system-running", check=False, timeout_s=10)
                state = r.stdout.strip()
                if state in ("running", "degraded"):
                    return self
            time.sleep(0.1)
        self.stop()
        raise SystemdError(f"the private systemd user manager did not come up within {timeout_s} s "
                           f"(state {state!r}): {self._tail('console.log')}")

    def stop(self, timeout_s: float = 60.0) -> None:
        """Make the manager exit (its units stop), kill what is left, remove the cgroups. Never raises."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the wrapper could not clean (it was killed, or the manager hung): every process
        # still in our cgroup, found through /proc (works without the namespace's cgroup mount).
        self._kill_leftovers()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        for _ in range(20):
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def processes(self) -> list[int]:
        """PIDs in this manager's cgroup (the manager, its units' processes; not the wrapper)."""
        wrapper = self.proc.pid if self.proc is not None else None
        return [pid for pid in _pids_in_cgroup(self.cgroup) if pid != wrapper]

    def __enter__(self) -> UserManager:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def state_directory(self, name: str) -> Path:
        """Where this manager puts a unit's ``StateDirectory=name``."""
        return self.workdir / "xdg" / name

    def unit_pids(self, unit: str) -> list[int]:
        """PIDs in a unit's cgroup (found through /proc, outside the namespace too)."""
        cgroup = self.show(unit, "ControlGroup").get("ControlGroup", "")
        return _pids_in_cgroup(cgroup) if cgroup else []

    # -- units -------------------------------------------------------------------------------------
    def install(self, source: str | Path, name: str | None = None) -> Path:
        """Copy a unit file unchanged into the manager's unit directory."""
        source = Path(source)
        dest = self.units / (name or source.name)
        shutil.copyfile(source, dest)
        return dest

    def write_unit(self, name: str, text: str) -> Path:
        """Write a unit (``name``) or a drop-in (``"unit.service.d/test.conf"``)."""
        dest = self.units / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        return dest

    # -- commands ----------------------------------------------------------------------------------
    def nsenter(self) -> list[str]:
        """The command prefix that runs a program in the manager's mount namespace."""
        if self.proc is None:
            raise SystemdError("the private systemd user manager is not running")
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--"]

    def systemctl(self, *args: str, check: bool = True, timeout_s: float = 60.0) -> subprocess.CompletedProcess:
        """``systemctl --user ARGS`` against this manager; raises SystemdError if it fails and ``check``."""
        cmd = [*self.nsenter(), "systemctl", "--user", "--no-pager", *args]
        r = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=timeout_s)
        if check and r.returncode != 0:
            raise SystemdError(f"`systemctl --user {shlex.join(args)}` failed ({r.returncode}): "
                               f"{r.stderr.strip() or r.stdout.strip()}")
        return r

    def show(self, unit: str, *props: str) -> dict[str, str]:
        """``systemctl --user show -p A,B unit`` as a dict."""
        out = self.systemctl("show", "-p", ",".join(props), unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_show(self, unit: str, props: tuple[str, ...], predicate: Callable[[dict], bool],
                  timeout_s: float, what: str, interval_s: float = 0.1) -> dict[str, str]:
        """Poll :meth:`show` until ``predicate`` holds; SystemdError with the last values otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.show(unit, *props)
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise SystemdError(f"{unit}: timed out after {timeout_s} s waiting for {what}; last {got}; "
                                   f"manager log: {self._tail('console.log')}")
            time.sleep(interval_s)

    def log(self) -> str:
        """What the manager (and failed executions) logged."""
        try:
            return (self.workdir / "console.log").read_text(errors="replace")
        except OSError:
            return ""

    def _tail(self, name: str, n: int = 2000) -> str:
        try:
            return (self.workdir / name).read_text(errors="replace")[-n:]
        except OSError:
            return ""
