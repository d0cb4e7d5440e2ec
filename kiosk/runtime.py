"""The composition root: reads the config, builds devices by name, the gateway and the services.

Nothing else constructs hardware or network clients. Tests and the fleet simulator pass fakes or
pre-built parts in (``devices=``, ``gateway=``) instead of patching. The runtime also owns the
periodic work of a terminal: the inactivity tick, telemetry, catalogue refresh on (re)connect,
and the handling of remote commands.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Mapping

import kiosk
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.devices import registry
from kiosk.devices.base import Device, DeviceError
from kiosk.events import EventBus
from kiosk.services import tickets
from kiosk.services.checkin import CheckinService
from kiosk.services.facade import Services, TerminalInfo
from kiosk.services.flows import (BookingService, FeedbackService, GuideService, ProgressService,
                                  StaffService, WalkinService)
from kiosk.services.session import SessionManager

log = logging.getLogger("kiosk.runtime")

#: Why 30 s: frequent enough for a hall dashboard, rare enough for 1,000s of terminals on a broker.
TELEMETRY_INTERVAL_S = 30.0
#: The inactivity tick; the countdown on screen needs about one update a second.
TICK_S = 0.5


class Runtime:
    """A terminal's core, headless: devices + gateway + services (+ a UI on top, optionally)."""

    def __init__(self, cfg: Config, *, bus: EventBus | None = None, clock: Clock | None = None,
                 devices: Mapping[str, Device] | None = None, gateway: Any = None) -> None:
        self.cfg = cfg
        self.bus = bus or EventBus()
        self.clock = clock or Clock(cfg.get("runtime.timezone", "Asia/Shanghai"))
        self.devices: dict[str, Device] = dict(devices) if devices is not None else self._build_devices()
        if gateway is None:
            from kiosk.network.gateway import Gateway  # the only paho importer; lazy for unit tests
            gateway = Gateway.from_config(cfg, self.bus)
        self.gateway = gateway
        self.started_at = time.time()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.services = self._build_services()
        self.bus.subscribe("network.online", self._on_online)
        self.bus.subscribe("network.command", self._on_command)

    # -- construction ------------------------------------------------------------------------------
    def _build_devices(self) -> dict[str, Device]:
        built = {}
        for role, section in self.cfg.devices().items():
            built[role] = registry.build(role, section, self.bus, self.cfg.source)
        return built

    def _build_services(self) -> Services:
        t = self.cfg.data["terminal"]
        rt = self.cfg.data["runtime"]
        sessions = SessionManager(self.bus, self.clock, timeout_s=rt["session_timeout_s"],
                                  elder_timeout_s=rt["elder_timeout_s"], elder_age=rt["elder_age"],
                                  language=rt["language"])
        checkin = CheckinService(self.gateway, self.devices.get("printer"), sessions, self.clock,
                                 hall=t["hall"], hall_code=t["hall_code"], terminal_id=t["id"], bus=self.bus)
        info = TerminalInfo(t["id"], t["name"], t["hall"], t["hall_code"], t["profile"], self.cfg.regions,
                            kiosk.__version__)
        return Services(info=info, sessions=sessions, checkin=checkin,
                        progress=ProgressService(self.gateway, checkin),
                        guide=GuideService(self.gateway),
                        booking=BookingService(self.gateway, checkin, self.clock),
                        walkin=WalkinService(self.gateway, checkin, sessions),
                        feedback=FeedbackService(self.gateway),
                        staff=StaffService(self.gateway, self.bus),
                        runtime=self)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "Runtime":
        """Start the gateway (offline-first: returns at once) and every device, then the timers."""
        self.gateway.start()
        for role, dev in self.devices.items():
            try:
                dev.start()
            except DeviceError as e:  # a driver should not raise here; keep the others running
                log.error("device did not start", extra={"device": role, "error": str(e)})
        self._spawn(self._tick_loop, "kiosk-tick")
        self._spawn(self._telemetry_loop, "kiosk-telemetry")
        log.info("runtime started", extra={"terminal": self.cfg.terminal_id, "devices": ",".join(self.devices)})
        return self

    def stop(self) -> None:
        """End any session, stop devices and the gateway, join our threads."""
        self._stop.set()
        self.services.sessions.end()
        for dev in self.devices.values():
            try:
                dev.stop()
            except Exception:
                log.exception("device did not stop cleanly")
        self.gateway.stop()
        for t in self._threads:
            t.join(timeout=5)
        self.services.sessions.close()
        log.info("runtime stopped")

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            self.services.sessions.tick()

    def _telemetry_loop(self) -> None:
        while not self._stop.wait(TELEMETRY_INTERVAL_S):
            if self.gateway.online:
                try:
                    self.gateway.publish_telemetry(self.telemetry())
                except Exception:
                    log.exception("telemetry not sent")

    # -- health ------------------------------------------------------------------------------------
    def health(self) -> dict:
        """Devices, network and outbox: never any citizen data."""
        return {
            "terminal": self.cfg.terminal_id,
            "version": kiosk.__version__,
            "uptime_s": round(time.time() - self.started_at, 1),
            "online": bool(self.gateway.online),
            "outbox_depth": self.gateway.outbox_depth(),
            "devices": {role: d.health().to_dict() for role, d in self.devices.items()},
        }

    def telemetry(self) -> dict:
        """The telemetry body of contract v1."""
        h = self.health()
        return {"uptime_s": h["uptime_s"], "devices": h["devices"], "outbox_depth": h["outbox_depth"],
                "online_since": None}

    # -- network events ----------------------------------------------------------------------------
    def _on_online(self, event) -> None:
        # Refresh the catalogue off the network thread: the guide keeps serving the cache meanwhile.
        threading.Thread(target=self.services.guide.refresh, name="kiosk-catalogue", daemon=True).start()

    def _on_command(self, event) -> None:
        env = event.data
        op = getattr(env, "op", "")
        log.info("command received", extra={"op": op})
        if op == "print.test" and "printer" in self.devices:
            try:
                self.devices["printer"].print_ticket(tickets.test_page(
                    hall=self.cfg.get("terminal.hall"), terminal=self.cfg.terminal_id, when=self.clock.now()))
            except DeviceError as e:
                log.warning("test page not printed", extra={"error": e.code})
        elif op == "catalogue.refresh":
            self._on_online(event)
        elif op == "announcement":
            self.bus.publish("ui.announcement", getattr(env, "body", {}).get("args", {}), source="network")
        elif op == "restart":
            self.bus.publish("runtime.restart", None, source="network")

    def run_forever(self) -> None:
        """Headless: run until SIGINT/SIGTERM."""
        import signal
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        self.bus.subscribe("runtime.restart", lambda e: done.set())
        done.wait()
