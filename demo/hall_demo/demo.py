"""`kiosk demo`: the whole system on one machine, on real parts, with simulated devices.

Starts a private Mosquitto on a free loopback port, the reference central service (SQLite), the
device simulators (ID card on a pty, printer on TCP, scanner on a pty) and the kiosk. With a
display it opens the kiosk window; with none (or ``--headless``) it runs the kiosk under Xvfb,
plays the scripted tour, saves a screenshot per step, every screen state in both type sizes
(``screens/``, hall_demo.reviewshots) and the printed tickets as PNG, prints where they are, stops
everything it started and exits 0 (non-zero if a tour step failed).

The effective config (free ports filled in) is written to ``.run/demo/kiosk.toml`` so that
``kiosk doctor --config .run/demo/kiosk.toml`` and ``kiosk sim --config ...`` work while it runs.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk import config as config_mod
from kiosk import logs

log = logging.getLogger("hall_demo.demo")

#: The demo hall's time of day at start: mid-morning of a service day.
DEMO_TIME = dt.time(10, 5)
#: Answer bounds of the drivers for simulated devices (s), unless the config sets them: see Stack.start.
SIMULATOR_ANSWER_S = {"devices.printer.options.status_timeout_s": 10.0,
                      "devices.idcard.options.read_timeout_s": 10.0}


class Stack:
    """Broker + central service + simulators + runtime, started and stopped in order.

    Each start is a fresh demo: the run directory (broker, central database, terminal state) is
    emptied first, so the tour sees the same seed data every time. ``run_dir`` defaults to the
    parent of the config's ``runtime.state_dir``; tests pass their own temporary one.
    """

    def __init__(self, config_path: str, out_dir: Path, run_dir: Path | None = None, hub_class=None) -> None:
        self.base_cfg = config_mod.load(config_path)
        #: What runs the simulators: hall_demo.hub.SimHub in this process by default; the
        #: benchmark passes one that runs them in another process (hardware is outside a terminal).
        self.hub_class = hub_class
        self.out_dir = out_dir
        self.run_dir = Path(run_dir) if run_dir else Path(self.base_cfg.get("runtime.state_dir")).parent
        # The parts start() brings up (None before it): Broker, Popen, SimHub, Runtime, Config, OffsetClock.
        self.broker: Any = None
        self.central: Any = None
        self.hub: Any = None
        self.runtime: Any = None
        self.cfg: Any = None
        self.clock: Any = None

    def start(self) -> Stack:
        """Bring everything up; returns when the kiosk core is online with a catalogue."""
        from hall_demo.broker import Broker, free_port
        from hall_demo.hub import SimHub, control_path
        from kiosk.clock import OffsetClock
        from kiosk.runtime import Runtime

        for stale in ("broker", "central.db", "central.db-wal", "central.db-shm", "state", "central-keys",
                      "keyset.json"):
            path = self.run_dir / stale
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(workdir=self.run_dir / "broker").start()
        overrides = {"network.broker": self.broker.url, "runtime.state_dir": str(self.run_dir / "state")}
        for role in ("idcard", "scanner"):
            if role in self.base_cfg.devices():
                overrides[f"devices.{role}.url"] = str(self.run_dir / f"{role}.pty")
        if "printer" in self.base_cfg.devices():
            overrides["devices.printer.url"] = f"tcp://127.0.0.1:{free_port()}"
        if "camera" in self.base_cfg.devices():
            overrides["devices.camera.url"] = f"http://127.0.0.1:{free_port()}/stream.mjpg"
        # The simulators are Python threads in a busy process (beside Kivy's software renderer) on
        # a machine that may be loaded: they answer far slower than hardware. A printer status
        # answer missing after the driver's 1 s failed the guide's print in 3 of 5 tours with both
        # cores busy; the answer bounds stay hang guards here, not the hardware's figures.
        for key, slow_s in SIMULATOR_ANSWER_S.items():
            role = key.split(".")[1]
            if role in self.base_cfg.devices() and key.rsplit(".", 1)[1] not in \
                    (self.base_cfg.devices()[role].get("options") or {}):
                overrides[key] = slow_s
        # The demo's hall day starts at a fixed local time, so a tour never meets closing time or
        # midnight (appointments, "today", check-in windows); both clocks then run in real time.
        tz = ZoneInfo(self.base_cfg.get("runtime.timezone"))
        start = dt.datetime.combine(dt.datetime.now(tz).date(), DEMO_TIME, tzinfo=tz)
        # The central service signs check-in codes; the terminal pins its root key and is
        # provisioned with the signed key set (as a real terminal is at installation).
        from hall_central.keys import CentralKeys
        keys_dir = self.run_dir / "central-keys"
        keys = CentralKeys(keys_dir, now_s=start.timestamp() - 3600)  # valid from before the demo day
        (self.run_dir / "keyset.json").write_text(json.dumps(keys.keyset()), encoding="utf-8")
        overrides["trust.root_key"] = keys.root_public
        overrides["trust.keyset_file"] = str(self.run_dir / "keyset.json")
        self.cfg = self.base_cfg.with_overrides(overrides)
        (self.run_dir / "kiosk.toml").write_text(config_mod.dump_toml(self.cfg.data), encoding="utf-8")

        db = self.run_dir / "central.db"
        central_log = open(self.run_dir / "central.log", "ab")
        self.central = subprocess.Popen(
            [sys.executable, "-m", "hall_central", "--broker", self.broker.url, "--db", str(db),
             "--start-at", start.isoformat(), "--keys", str(keys_dir)],
            stdout=central_log, stderr=central_log, start_new_session=True)

        self.hub = (self.hub_class or SimHub)(self.cfg, ticket_dir=self.out_dir / "tickets").start()
        self.hub.serve(control_path(self.cfg))
        self.clock = OffsetClock(self.cfg.get("runtime.timezone"), start=start)
        self.runtime = Runtime(self.cfg, clock=self.clock).start()
        self._wait_ready()
        self.sim = DemoSim(self)
        return self

    @property
    def services(self):
        """What a touchscreen on this stack is handed (kiosk.services.facade.Services)."""
        return self.runtime.services

    @property
    def ui_settings(self):
        """The touchscreen's settings from the effective config (kiosk.services.facade.UiSettings)."""
        from kiosk.services.facade import UiSettings
        return UiSettings.from_config(self.cfg)

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait until the central service answers and the catalogue is cached."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            if self.central.poll() is not None:
                raise RuntimeError(f"central service exited ({self.central.returncode}); "
                                   f"see {self.run_dir / 'central.log'}")
            if self.runtime.gateway.online:
                try:
                    self.runtime.gateway.sync_catalogue()
                    return
                except Exception as e:  # not subscribed yet: try again
                    last = e
            time.sleep(0.2)
        raise TimeoutError(f"the central service did not answer within {timeout_s} s ({last})")

    def stop(self) -> None:
        """Stop in reverse order; never raises."""
        for name, fn in (("runtime", lambda: self.runtime and self.runtime.stop()),
                         ("simulators", lambda: self.hub and self.hub.stop()),
                         ("central", self._stop_central),
                         ("broker", lambda: self.broker and self.broker.stop())):
            try:
                fn()
            except Exception:
                log.exception("did not stop cleanly", extra={"part": name})

    def _stop_central(self) -> None:
        from hall_common.procs import stop_process
        stop_process(self.central, timeout_s=10)


class DemoSim:
    """What the UI tour drives: the device simulators, the network (the broker stops and comes
    back), the runtime's clock (jump through an inactivity timeout) and the seed's known data."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.hub = stack.hub
        self.advanced_s = 0.0

    def place_card(self, citizen: int = 0) -> None:
        """A demo citizen's ID card on the reader (0: one appointment today, 1: aged 68, two
        appointments and applications in progress, 2: no appointment)."""
        self.hub.place_card(citizen)

    def remove_card(self) -> None:
        """Take the card off the reader."""
        self.hub.remove_card()

    def scan(self, text: str) -> None:
        """Scan a code with the serial scanner simulator."""
        self.hub.scan(text)

    def set_paper_out(self, on: bool) -> None:
        """The printer runs out of paper (or gets paper)."""
        self.hub.set_paper_out(on)

    def show_code(self, text: str | None) -> None:
        """Hold a phone with a QR code in front of the camera (None: take it away)."""
        self.hub.show_code(text)

    def insert_smartcard(self, citizen: int = 0) -> None:
        """A demo citizen's social security card into the PC/SC reader."""
        self.hub.insert_smartcard(citizen)

    def insert_staff_card(self, staff_number: str = "S002") -> None:
        """A hall staff card (``staff`` profile) into the PC/SC reader (the demo's S002 has no PIN)."""
        self.hub.insert_staff_card(staff_number)

    def remove_smartcard(self) -> None:
        """Take the smart card out."""
        self.hub.remove_smartcard()

    def set_online(self, online: bool) -> None:
        """Cut the central network (stop the broker) or restore it (start it on the same port)."""
        if online and self.stack.broker.proc is None:
            self.stack.broker.start()
        elif not online and self.stack.broker.proc is not None:
            self.stack.broker.stop()

    def advance(self, seconds: float, *, wall: bool = True) -> None:
        """Move the runtime's clock forward (inactivity timeouts without waiting); ``wall=False``
        moves only its timers, not the hall's date and time."""
        self.stack.clock.advance(seconds, wall=wall)
        if wall:
            self.advanced_s += max(0.0, seconds)

    def hold_time(self, on: bool = True) -> None:
        """Stop the runtime's timers (session inactivity, the timeout screen's way home) so that
        only ``advance`` moves them, or let them run again (kiosk.clock.OffsetClock.hold)."""
        self.stack.clock.hold(on)

    def central_now(self):
        """The central service's hall clock: it started with the runtime's and never jumps."""
        import datetime as _dt
        return self.stack.clock.now() - _dt.timedelta(seconds=self.advanced_s)

    def tickets(self) -> list:
        """Tickets the printer simulator printed (``.text``, ``.png_path``, ``.image``)."""
        return self.hub.tickets()

    def finish_application(self, k: int = 0) -> str:
        """Move the k-th seeded demo application through its remaining levels to "done" (as the
        offices would over days), so the citizen can rate a finished application; returns the QR
        text of its receipt (the signed receipt code, as the central service issues it)."""
        from hall_central.clock import Clock as CentralClock
        from hall_central.domain import Domain, OpError
        from hall_central.keys import CentralKeys
        from hall_central.stores import open_store
        no = self.application_no(k)
        keys_dir = self.stack.run_dir / "central-keys"
        signer = CentralKeys(keys_dir) if (keys_dir / "keys.json").exists() else None
        store = open_store(str(self.stack.run_dir / "central.db"))
        try:
            with store.transaction():
                domain = Domain(store, CentralClock(), signer=signer)
                try:
                    while domain.advance_application(no)["status"] != "done":
                        pass
                except OpError:  # already done
                    pass
                application = store.application(no)
                assert application is not None  # advanced just above
                return domain.receipt_code(application)
        finally:
            store.close()

    def application_no(self, k: int = 0) -> str:
        """The number of the k-th seeded demo application (as the central service issued it)."""
        from hall_central import seed
        return seed.demo_application_no(k, self.stack.clock.today())


def run(config_path: str, out: str, headless: bool) -> int:
    """Run the demo; returns the process exit code."""
    out_dir = Path(out).resolve()
    no_display = headless or not os.environ.get("DISPLAY")
    if no_display and out_dir.exists():
        shutil.rmtree(out_dir)  # screenshots of an earlier run must not pass for this one's
    out_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(config_path, out_dir)
    stack.run_dir.mkdir(parents=True, exist_ok=True)
    # The console shows the demo's own lines; the JSON logs (redacted) go to a file.
    logs.setup(stack.base_cfg.get("runtime.log_level"), open(stack.run_dir / "kiosk.log", "a", encoding="utf-8"))
    print(f"demo: starting broker, central service, simulators and kiosk (logs in {stack.run_dir})", flush=True)
    code = 1

    def on_sigterm(*_):  # `kill` stops the demo like Ctrl-C: everything it started is stopped
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        stack.start()
        print(f"demo: up. broker {stack.broker.url}; effective config {stack.run_dir / 'kiosk.toml'}", flush=True)
        print(f"demo: try `kiosk doctor --config {stack.run_dir / 'kiosk.toml'}` in another shell", flush=True)
        width, height = stack.cfg.get("ui.width"), stack.cfg.get("ui.height")
        if no_display:
            from hall_demo.layoutprobe import Inspector
            from hall_demo.panels import PANELS
            from hall_demo.reviewshots import ReviewShots
            from hall_demo.tour import play
            from hall_demo.tour_steps import full_tour
            from hall_demo.xvfb import Xvfb
            langs = ("zh_CN", "en")
            # The panel the layout check assumes for this size (1280x800: a 10.1" one at 150 dpi):
            # touch targets are sized in millimetres, so the screenshots show that panel.
            panel = PANELS.get(f"{width}x{height}")
            # Every state in both type sizes, photographed during this tour by the layout check's
            # probe (it switches the size and waits for a stable layout): one tour, not two.
            shots = ReviewShots(out_dir / "screens")
            with Xvfb(width, height):
                result = play(full_tour(langs), stack.services, stack.ui_settings, sim=stack.sim,
                              out_dir=out_dir, width=width, height=height, dpi=panel.dpi if panel else None,
                              inspector=Inspector(shots))
            states = shots.finish(f"Kiosk screens at {width}x{height}")
            print(f"demo: {len(states)} screen states x {len(langs)} languages x 2 type sizes in "
                  f"{out_dir / 'screens'}, side by side in {out_dir / 'screens' / 'index.html'}", flush=True)
            code = _report(result, stack, out_dir)
        else:
            from kiosk.screens.app import run_touchscreen  # the config's profile: kiosk or mobile
            run_touchscreen(stack.services, stack.ui_settings)
            code = 0
    except KeyboardInterrupt:
        code = 130
    finally:
        stack.stop()
    if no_display and code == 0:
        code = _mobile_tour(out_dir, stack.run_dir.parent / "demo-mobile")
    return code


def _mobile_tour(out_dir: Path, run_dir: Path) -> int:
    """The mobile profile's tour (a staff phone at 720x1280) in its own process: Kivy makes one
    window per process, and a phone is another terminal anyway."""
    print("demo: mobile profile: sign-in (PIN, staff card), identify, lookup, book, materials, photo, "
          "consent, queued, synced", flush=True)
    done = subprocess.run([sys.executable, "-m", "hall_demo.mobile_demo", "--out", str(out_dir / "mobile"),
                           "--run-dir", str(run_dir)])
    shots = sorted((out_dir / "mobile").glob("*.png"))
    for shot in shots:
        print(f"demo: mobile {shot}", flush=True)
    print("demo: mobile tour " + ("passed" if done.returncode == 0 else "FAILED"), flush=True)
    return done.returncode


def _report(result, stack: Stack, out_dir: Path) -> int:
    """Print what the tour produced; 0 when every step passed."""
    for step in result.steps:
        status = "ok  " if step.passed else "FAIL"
        print(f"demo: {status} {step.lang:<5} {step.name:<24} {step.screenshot or ''} {step.message or ''}",
              flush=True)
    if result.error:
        print(f"demo: error: {result.error}", flush=True)
    tickets = stack.hub.tickets()
    for t in tickets:
        print(f"demo: ticket {getattr(t, 'png_path', '')}", flush=True)
    shots = sorted(p for p in out_dir.rglob("*.png"))
    print(f"demo: {len(shots)} PNG files in {out_dir} ({len(tickets)} printed tickets)", flush=True)
    ok = result.ok and len(tickets) > 0
    print("demo: " + ("tour passed" if ok else "tour FAILED"), flush=True)
    return 0 if ok else 1
