"""Child process of :mod:`hall_demo.bench.startup` (a cold process per measurement; prints one JSON line).

``bare``: a bare Kivy window (the baseline). ``home CONFIG.json``: the kiosk as ``kiosk run``
starts it (runtime, then the UI) until its first frame shows the home screen; the device
simulators run in the parent, as the hardware is outside a terminal's process. ``tour RUN_DIR``:
the kiosk on :class:`hall_demo.demo.Stack` (broker, central service, simulators) through the full
scripted tour driven by the stack's :class:`hall_demo.demo.DemoSim`, then its memory. In the tour the
simulators run in their own process (``kiosk sim run --config <effective config>``, see
:class:`RemoteHub`) and DemoSim drives them through the hub's control socket, so this process's
RSS is the kiosk's alone, as on a real terminal where the devices are hardware. Times are from
this process's creation (the kernel's record), so imports count: that is cold start. The first
frame is detected the same way for the kiosk and the bare window: two Clock ticks after start.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from hall_demo import ROOT


def _since_start_ms() -> float:
    return (time.time() - psutil.Process().create_time()) * 1000


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _after_first_frame(fn) -> None:
    """Call ``fn()`` on the Clock tick after the app's first frame was drawn."""
    from kivy.clock import Clock
    Clock.schedule_once(lambda dt: Clock.schedule_once(lambda dt2: fn(), 0), 0)


def bare() -> dict:
    """A bare Kivy window at 1280x800: time to its first frame and its memory then."""
    from kiosk.screens import kivyenv
    kivyenv.prepare(1280, 800)
    from kivy.app import App
    from kivy.uix.label import Label
    out: dict = {}

    class Bare(App):
        def build(self):
            return Label(text="bench")

        def on_start(self):
            def drawn():
                out.update(first_frame_ms=_since_start_ms(), rss_mb=_rss_mb())
                self.stop()
            _after_first_frame(drawn)
    Bare().run()
    return out


def home(config_json: str) -> dict:
    """The kiosk as ``kiosk run`` starts it: time to the first frame of the home screen."""
    from kiosk import config
    from kiosk.runtime import Runtime
    cfg = config.from_dict(json.loads(Path(config_json).read_text(encoding="utf-8")))
    runtime = Runtime(cfg).start()
    out: dict = {}
    try:
        from kiosk.screens import kivyenv
        kivyenv.prepare(1280, 800)
        from kivy.app import App

        def drawn() -> None:
            app = App.get_running_app()
            out.update(home_ms=_since_start_ms(), rss_mb=_rss_mb(), screen=app.sm.current if app.sm else None)
            app.stop()
        _after_first_frame(drawn)  # scheduled before run: the Clock first ticks once the app started
        from kiosk.screens.app import run_app
        from kiosk.services.facade import UiSettings
        app = run_app(runtime.services, UiSettings.from_config(cfg), width=1280, height=800)
        if out.get("screen") != "home":
            out["error"] = app.ui_error or f"first frame showed {out.get('screen')!r}, not home"
    finally:
        runtime.stop()
    return out


#: Why a bound: the hub starts its simulators (and pcscd) in well under a second; a hub that
#: never prints its ready line must fail the measurement, not hang it.
HUB_START_TIMEOUT_S = 30.0


class RemoteHub:
    """Stands in for :class:`hall_demo.hub.SimHub` in :class:`hall_demo.demo.Stack`: the same
    simulators, but in a ``kiosk sim run`` child process driven through its control socket."""

    def __init__(self, cfg, *, ticket_dir=None) -> None:
        self.cfg = cfg
        self.proc: subprocess.Popen | None = None
        self.path = ""

    def start(self) -> RemoteHub:
        """Start ``kiosk sim run`` on the stack's effective config; returns once it serves."""
        from firmware_bridge.pcsc.stack import use_private_socket
        from hall_demo.hub import control_path
        run_dir = Path(self.cfg.get("runtime.state_dir")).parent
        config_path = run_dir / "kiosk.toml"  # Stack wrote the effective config before starting the hub
        self.path = control_path(self.cfg)
        # Both processes must agree on the private pcscd socket: the hub's pcscd listens there,
        # this process's libpcsclite (pyscard) connects there. Set before anything talks PC/SC.
        env = dict(os.environ, PCSCLITE_CSOCK_NAME=use_private_socket())
        log = open(run_dir / "sim.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "sim", "--config", str(config_path), "run"],
                                     stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(ROOT))
        log.close()
        # The hub prints one JSON line once its control socket serves (or exits on failure).
        line = _readline_within(self.proc, HUB_START_TIMEOUT_S)
        if not line.startswith("{"):
            self.stop()
            raise RuntimeError(f"simulator hub did not start (see {run_dir / 'sim.log'})")
        return self

    def serve(self, path) -> None:
        """The child already serves its control socket at ``control_path(cfg)``."""

    def stop(self) -> None:
        """Stop the hub process (it stops its simulators on SIGTERM)."""
        from hall_common.procs import stop_process
        if self.proc is not None:
            stop_process(self.proc, timeout_s=10)
            assert self.proc.stdout is not None  # PIPE
            self.proc.stdout.close()
            self.proc = None

    def _call(self, op: str, **kw):
        from hall_demo.hub import control
        reply = control(self.path, {"op": op, **kw})
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error"))
        return reply["result"]

    def place_card(self, citizen: int = 0):
        """Forwarded to the hub process."""
        return self._call("place-card", citizen=citizen)

    def remove_card(self):
        """Forwarded to the hub process."""
        return self._call("remove-card")

    def scan(self, text: str):
        """Forwarded to the hub process."""
        return self._call("scan", text=text)

    def set_paper_out(self, on: bool):
        """Forwarded to the hub process."""
        return self._call("paper-out", on=on)

    def show_code(self, text):
        """Forwarded to the hub process."""
        return self._call("show-code", text=text or "")

    def insert_smartcard(self, citizen: int = 0):
        """Forwarded to the hub process."""
        return self._call("insert-smartcard", citizen=citizen)

    def remove_smartcard(self):
        """Forwarded to the hub process."""
        return self._call("remove-smartcard")

    def tickets(self) -> list:
        """One entry per printed ticket (the tour only counts them; the images stay in the hub)."""
        return [None] * int(self._call("status")["tickets"])

    def rss_mb(self) -> float:
        """The hub process's resident memory with its children (pcscd), MiB."""
        assert self.proc is not None  # between start() and stop()
        p = psutil.Process(self.proc.pid)
        return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 2**20


def _readline_within(proc: subprocess.Popen, timeout_s: float) -> str:
    """The child's first stdout line, or "" if it exits or says nothing within ``timeout_s``."""
    import selectors
    assert proc.stdout is not None  # PIPE
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return ""
        return proc.stdout.readline().decode("utf-8", "replace")


def finish_application(run_dir: str, k: int) -> dict:
    """``finish RUN_DIR K``: DemoSim.finish_application on the central database, in this process."""
    from hall_demo.demo import DemoSim

    class _Stack:  # what finish_application reads: the run directory (application_no is not called)
        pass
    stack: Any = _Stack()  # a stand-in for hall_demo.demo.Stack
    stack.run_dir = Path(run_dir)
    stack.hub = None

    class _Replayed(DemoSim):
        def application_no(self, k: int = 0) -> str:
            number: str = json.loads(sys.argv[4])  # the number the tour process computed
            return number
    sim = _Replayed(stack)
    return {"receipt": sim.finish_application(k)}


def _remote_central(sim) -> None:
    """Run the tour's central-office step (advance an application to "done") in a child process:
    it is the central service's work (its catalogue, pypinyin's ~50 MiB dictionaries), not the kiosk's."""
    def finish(k: int = 0) -> str:
        no = sim.application_no(k)
        p = subprocess.run([sys.executable, "-m", "hall_demo.bench._startup_child", "finish", str(sim.stack.run_dir),
                            str(k), json.dumps(no)], capture_output=True, text=True, timeout=60, cwd=str(ROOT))
        if p.returncode != 0:
            raise RuntimeError(f"finishing application {k} failed: {(p.stderr or p.stdout)[-200:]}")
        line = next(ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("BENCH-RESULT "))
        return json.loads(line[len("BENCH-RESULT "):])["receipt"]
    sim.finish_application = finish


def _prepare_fonts(state_dir: str) -> None:
    """Make the terminal's font cache (the flattened CJK faces) in a child process, as a terminal
    has it after its first start; the home children keep their state directory the same way.
    Stack starts on an empty state directory, and a very first start does the fontTools work in
    the kiosk process: 5-7 MiB more after the tour."""
    code = "import sys; from kiosk.screens import fonts; fonts.find_cjk_fonts(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, state_dir], check=True, cwd=str(ROOT), timeout=120,
                   capture_output=True)


#: How often the tour child samples its RSS for the peak (s): a psutil read costs ~0.1 ms.
PEAK_SAMPLE_S = 0.25


def tour(run_dir: str) -> dict:
    """The kiosk on hall_demo.demo.Stack through the full tour (zh_CN); memory at its end.

    ``rss_mb`` is read in the live app when the tour stops it: the home screen, after the last
    session's clean-up, as a terminal idles between citizens (its font cache made beforehand, as
    after a terminal's first start: :func:`_prepare_fonts`). ``peak_mb`` is the highest RSS
    sampled during the tour; ``after_stop_mb`` is read once the app has stopped (the point the
    figure was read at before 2026-11-24, for comparison with older runs)."""
    from kiosk.screens import kivyenv
    kivyenv.prepare(1280, 800)  # before anything imports kivy
    from hall_demo.demo import Stack
    stack = Stack(str(ROOT / "config" / "demo.toml"), Path(tempfile.mkdtemp(prefix="kiosk-bench-out-")),
                  run_dir=Path(run_dir), hub_class=RemoteHub)  # the simulators run apart
    out: dict = {}
    try:
        stack.start()
        _remote_central(stack.sim)
        _prepare_fonts(stack.cfg.get("runtime.state_dir"))
        from kivy.clock import Clock

        from hall_demo import tour_steps as tours
        from hall_demo.tour import play
        peak = [0.0]

        def sample(dt=None) -> None:
            peak[0] = max(peak[0], _rss_mb())

        def at_stop(app) -> None:
            out["rss_mb"] = _rss_mb()
            out["uss_mb"] = psutil.Process().memory_full_info().uss / 2**20
            out["screens_built"] = len(app.sm.screens) if app.sm is not None else 0
            sample()

        sampler = Clock.schedule_interval(sample, PEAK_SAMPLE_S)
        result = play(tours.full_tour(("zh_CN",)), stack.services, stack.ui_settings, sim=stack.sim, out_dir=None,
                      width=1280, height=800, on_stop=at_stop)
        sampler.cancel()
        out["peak_mb"] = peak[0]
        out["after_stop_mb"] = _rss_mb()
        out.setdefault("rss_mb", out["after_stop_mb"])
        out["sim_rss_mb"] = stack.hub.rss_mb()
        out["tour_ok"] = result.ok
        out["tour_error"] = result.error or next((f"{s.name}: {s.message}" for s in result.steps if not s.passed), "")
        out["steps"] = len(result.steps)
    finally:
        stack.stop()
    return out


if __name__ == "__main__":
    which = sys.argv[1]
    res = (bare() if which == "bare" else home(sys.argv[2]) if which == "home" else
           finish_application(sys.argv[2], int(sys.argv[3])) if which == "finish" else tour(sys.argv[2]))
    print("BENCH-RESULT " + json.dumps(res), flush=True)
