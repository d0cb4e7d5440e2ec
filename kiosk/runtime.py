"""The composition root: reads the config, builds devices by name, the gateway and the services.

Nothing else constructs hardware or network clients. Tests and the fleet simulator pass fakes or
pre-built parts in (``devices=``, ``gateway=``) instead of patching. The runtime also owns the
periodic work of a terminal: the inactivity tick, telemetry, catalogue refresh on (re)connect,
and the handling of remote commands, each verified first (kiosk.trust: signature, target, expiry,
a sequence that only goes up, kept durably). At construction it disables core dumps and refuses
an insecure production profile (kiosk.trust.policy); the tick loop feeds the systemd watchdog.

It builds the profile ``terminal.profile`` names: a hall kiosk, or (``mobile``) a staff tablet or
phone whose services include the door-to-door flows (kiosk.services.mobile). A touchscreen on top
is handed ``runtime.services`` and :class:`kiosk.services.facade.UiSettings`, never the runtime.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import kiosk
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.devices import registry
from kiosk.devices.base import Device, DeviceError
from kiosk.events import Event, EventBus
from kiosk.services.attempts import Attempts
from kiosk.services.checkin import CheckinService, TicketPrinter
from kiosk.services.facade import Services, TerminalInfo
from kiosk.services.flows import (
    BookingService,
    FeedbackService,
    GuideService,
    ProgressService,
    StaffService,
    WalkinService,
)
from kiosk.services.maintenance import MaintenanceService
from kiosk.services.scans import ScanReader
from kiosk.services.session import SessionManager
from kiosk.services.staff_pin import PinGate
from kiosk.trust import policy
from kiosk.watchdog import Notifier, UiHeartbeat

if TYPE_CHECKING:
    from kiosk.services.photos import StillCamera  # OpenCV: imported for the type only
    from kiosk.trust.commands import CommandVerifier
    from kiosk.trust.keys import TrustStore

log = logging.getLogger("kiosk.runtime")

#: Why 30 s: frequent enough for a hall dashboard, rare enough for 1,000s of terminals on a broker.
TELEMETRY_INTERVAL_S = 30.0
#: The inactivity tick; the countdown on screen needs about one update a second.
TICK_S = 0.5
#: A UI that has not beaten for this long is hung (a frame takes milliseconds; a slow service call
#: runs in a worker thread, never on the UI thread): stop feeding the watchdog so systemd restarts us.
UI_HANG_S = 10.0


def _cache_printer_profiles(state_dir: str | None) -> None:
    """Keep python-escpos's parsed printer profiles in the state directory between starts.

    Why: python-escpos parses its 1 MB profile file with pure-Python YAML at import (0.35 s of
    every start here) and caches the result only in a fresh temporary directory per process, i.e.
    never; pointed at a lasting directory, later starts load its pickle (~10 ms). Set before any
    driver imports escpos; an operator's own ESCPOS_CAPABILITIES_PICKLE_DIR wins.
    """
    if not state_dir or "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    cache = os.path.join(state_dir, "cache", "escpos")
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as e:  # a read-only state dir costs only start-up time
        log.warning("printer profile cache not available", extra={"error": str(e)})
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = cache


class Runtime:
    """A terminal's core, headless: devices + gateway + services (+ a UI on top, optionally)."""

    def __init__(self, cfg: Config, *, bus: EventBus | None = None, clock: Clock | None = None,
                 devices: Mapping[str, Device] | None = None, gateway: Any = None) -> None:
        self.cfg = cfg
        policy.disable_core_dumps()  # before any citizen data can be in memory
        policy.enforce(cfg)  # raises InsecureConfig: production without TLS/cert checks/root key
        self.bus = bus or EventBus()
        self.notifier = Notifier()
        self.clock = clock or Clock(cfg.get("runtime.timezone", "Asia/Shanghai"))
        self.trust, self.commands = self._build_trust()
        self.devices: dict[str, Device] = dict(devices) if devices is not None else self._build_devices()
        if gateway is None:
            from kiosk.network.gateway import Gateway  # its link is the only paho importer; lazy for unit tests
            gateway = Gateway.from_config(cfg, self.bus)
        self.gateway = gateway
        self.started_at = time.time()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Beaten by a UI on top (through the services): the watchdog is fed only while it beats.
        self.ui = UiHeartbeat()
        self.services = self._build_services()
        self.bus.subscribe("network.online", self._on_online)
        self.bus.subscribe("network.command", self._on_command)
        # An outbox alarm (dead letter, disk fault) reaches the operators now, not at the next tick.
        self.bus.subscribe("network.dead_letter", self._on_alarm)
        self.bus.subscribe("network.outbox_alarm", self._on_alarm)
        # A card forgotten on a reader (kiosk.services.session.CARD_FORGOTTEN_S), and its taking.
        self.bus.subscribe("session.card_forgotten", self._on_card_forgotten)
        self.bus.subscribe("session.card_left", self._on_card_forgotten)

    # -- construction ------------------------------------------------------------------------------
    def _build_trust(self) -> tuple[TrustStore | None, CommandVerifier | None]:
        """The durable trust state, the command verifier and the scan gate's code verifier."""
        from kiosk.trust import codes, payload
        from kiosk.trust.commands import CommandVerifier
        from kiosk.trust.keys import TrustError, TrustStore
        root = self.cfg.get("trust.root_key")
        if not root:
            log.warning("no trust.root_key: remote commands are refused, scanned codes stay unverified")
            return None, None
        store = TrustStore(self.cfg.get("runtime.state_dir"), root)
        keyset_file = self.cfg.get("trust.keyset_file")
        if keyset_file:
            import json
            try:
                with open(keyset_file, encoding="utf-8") as f:
                    store.install_keyset(json.load(f))
            except (OSError, ValueError, TrustError) as e:
                log.warning("provisioned key set not installed", extra={"error": str(e)})
        # Codes expire in hall time: verify against the runtime's clock (the demo's runs shifted).
        payload.set_token_verifier(codes.token_verifier(store, self.cfg.get("terminal.hall_code"), self.cfg.regions,
                                                        now=lambda: self.clock.now().timestamp()))
        verifier = CommandVerifier(store, self.cfg.terminal_id, max_ttl_s=self.cfg.get("trust.command_max_ttl_s"))
        return store, verifier

    def _code_verifier(self) -> Callable[[str], dict[str, Any]] | None:
        """Signed check-in codes verified offline for this hall at hall time: text -> claims."""
        store = self.trust
        if store is None:
            return None
        from kiosk.trust import codes
        hall_code = self.cfg.get("terminal.hall_code")
        return lambda text: codes.verify(text, store.keyset, hall_code, self.clock.now().timestamp()).claims

    def _build_devices(self) -> dict[str, Device]:
        _cache_printer_profiles(self.cfg.get("runtime.state_dir"))
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
        attempts = Attempts(self.bus)  # one idempotency key per citizen's attempt, for every flow
        # The printer role's driver prints tickets (the registry checks a driver's role, not its
        # methods: a cast, not a check).
        printer = cast("TicketPrinter | None", self.devices.get("printer"))
        checkin = CheckinService(self.gateway, printer, sessions, self.clock,
                                 hall=t["hall"], hall_en=t["hall_en"], hall_code=t["hall_code"], terminal_id=t["id"],
                                 bus=self.bus,
                                 verify_code=self._code_verifier(), attempts=attempts,
                                 follow_url=self.cfg.get("ui.follow_url"))
        info = TerminalInfo(t["id"], t["name"], t["hall"], t["hall_code"], t["profile"], self.cfg.regions,
                            kiosk.__version__, name_en=t["name_en"], hall_en=t["hall_en"])
        guide = GuideService(self.gateway)
        mobile = None
        if t["profile"] == "mobile":
            from kiosk.services.mobile import MobileService  # OpenCV: only a mobile terminal loads it
            # The camera role's driver takes stills (a cast, not a check: as the printer's, above).
            camera = cast("StillCamera | None", self.devices.get("camera"))
            mobile = MobileService.from_config(self.cfg, self.gateway, sessions, guide, self.bus, self.clock,
                                               camera=camera)
        return Services(info=info, sessions=sessions, checkin=checkin,
                        progress=ProgressService(self.gateway, checkin),
                        guide=guide,
                        booking=BookingService(self.gateway, checkin, self.clock),
                        walkin=WalkinService(self.gateway, checkin, sessions),
                        feedback=FeedbackService(self.gateway, attempts, sessions),
                        staff=StaffService(self.gateway, self.bus),
                        maintenance=MaintenanceService(info, self.gateway, self.devices, self.clock,
                                                       follow_url=self.cfg.get("ui.follow_url"),
                                                       started_at=self.started_at, sessions=sessions),
                        scans=ScanReader(self.cfg.get("ui.follow_url")),
                        bus=self.bus, heartbeat=self.ui, mobile=mobile,
                        staff_pin=PinGate(self.cfg.get("ui.maintenance_pin_hash", ""), self.clock,
                                          self.cfg.get("runtime.state_dir")))

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Runtime:
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
        self.notifier.ready(f"terminal {self.cfg.terminal_id}")
        return self

    def stop(self) -> None:
        """End any session, stop devices and the gateway, join our threads."""
        self._stop.set()
        self.notifier.stopping()
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
        if self.services.mobile is not None:
            self.services.mobile.close()
        if self.trust is not None:
            from kiosk.trust import payload
            payload.set_token_verifier(None)
        log.info("runtime stopped")

    def _spawn(self, target: Callable[[], object], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def attach_ui(self) -> None:
        """A UI runs on top: from now on the watchdog is fed only while it beats (the UI itself
        calls ``services.heartbeat.attach()``; this is the same)."""
        self.ui.attach()

    def ui_beat(self) -> None:
        """The UI is alive (it calls ``services.heartbeat.beat()`` from its main loop)."""
        self.ui.beat()

    def alive(self) -> bool:
        """The core ticks (we are in its loop) and, when a UI is attached, the UI beats too."""
        return self.ui.alive(UI_HANG_S)

    def _tick_loop(self) -> None:
        # Why feed the watchdog here: this loop drives the sessions; if it hangs, systemd restarts
        # us. A hung UI (a blocked Kivy main thread) stops its beats, and then the feeding stops too.
        interval_s = self.notifier.interval_s
        fed = time.monotonic()
        while not self._stop.wait(TICK_S):
            self.services.sessions.tick()
            if interval_s is not None and time.monotonic() - fed >= min(interval_s, TICK_S * 4) \
                    and self.alive():
                self.notifier.watchdog()
                fed = time.monotonic()

    def _telemetry_loop(self) -> None:
        while not self._stop.wait(TELEMETRY_INTERVAL_S):
            self._send_telemetry()

    def _send_telemetry(self) -> None:
        if self.gateway.online:
            try:
                self.gateway.publish_telemetry(self.telemetry())
            except Exception:
                log.exception("telemetry not sent")

    def _on_alarm(self, event: Event) -> None:
        if not self._stop.is_set():  # off the publisher's thread: it may hold the outbox or a device
            threading.Thread(target=self._send_telemetry, name="kiosk-telemetry-alarm", daemon=True).start()

    def _on_card_forgotten(self, event: Event) -> None:
        """Staff alerted of a card left on a reader long after its session (a durable event and
        telemetry now), and told when it is taken; off the publisher's thread (the tick, or the
        reader's link thread), which must not wait on the outbox's disk."""
        data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
        forgotten = bool(data.get("left"))
        if not (forgotten or data.get("alerted")):
            return   # a card taken before anyone was alerted: nothing to tell

        def run() -> None:
            staff = self.services.staff
            try:
                if forgotten:
                    staff.card_forgotten(list(data.get("roles", [])), int(data.get("left_s", 0)))
                else:
                    staff.card_taken()
            except Exception:  # an outbox fault is the outbox's alarm; the UI goes on
                log.exception("card alert not stored")
            self._send_telemetry()
        if not self._stop.is_set():
            threading.Thread(target=run, name="kiosk-card-alert", daemon=True).start()

    # -- health ------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Devices, network and outbox: never any citizen data (kiosk.services.maintenance)."""
        return self.services.maintenance.health()

    def telemetry(self) -> dict[str, Any]:
        """The telemetry body of contract v1."""
        h = self.health()
        return {"uptime_s": h["uptime_s"], "devices": h["devices"], "outbox_depth": h["outbox_depth"],
                "online_since": None, "dead_letters": h["dead_letters"],
                "outbox_alarms": [{"kind": a["kind"], "reason": a["reason"][:500]} for a in h["outbox_alarms"][:10]],
                "card_forgotten_s": h.get("card_forgotten_s")}

    # -- network events ----------------------------------------------------------------------------
    def _on_online(self, event: Event) -> None:
        # Refresh the catalogue off the network thread: the guide keeps serving the cache meanwhile.
        threading.Thread(target=self.services.guide.refresh, name="kiosk-catalogue", daemon=True).start()

    def _on_command(self, event: Event) -> None:
        env = event.data if isinstance(event.data, dict) else {}
        op = env.get("op", "")
        raw_body = env.get("body")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        log.info("command received", extra={"op": op})
        if not self._verify_command(op, body, env):
            return
        if op == "print.test" and self.services.maintenance.has_printer:
            try:
                self.services.maintenance.test_print()
            except DeviceError as e:
                log.warning("test page not printed", extra={"error": e.code})
        elif op == "catalogue.refresh":
            self._on_online(event)
        elif op == "announcement":
            self.bus.publish("ui.announcement", body.get("args", {}), source="network")
        elif op == "restart":
            self.bus.publish("runtime.restart", None, source="network")

    def _verify_command(self, op: str, body: dict[str, Any], env: dict[str, Any]) -> bool:
        """True if the command may run now (verified, sequence recorded); refusals are logged and
        published as ``trust.command_rejected``."""
        from kiosk.trust.keys import TrustError
        if self.trust is None:
            log.warning("command refused: no trust.root_key configured", extra={"op": op})
            self.bus.publish("trust.command_rejected", {"op": op, "code": "command.no_trust"}, source="trust")
            return False
        raw_args = body.get("args")
        args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
        if op == "config.set" and "keyset" in args:
            # Why before the command check: a key set's authority is the pinned root signature, and
            # a terminal whose command key was revoked must still be able to receive the new set.
            try:
                if self.trust.install_keyset(args["keyset"]):
                    keyset = self.trust.keyset
                    assert keyset is not None  # install_keyset returned True: a set is in force
                    self.bus.publish("trust.keyset", {"version": keyset.version}, source="trust")
            except TrustError as e:
                log.warning("key set refused", extra={"code": e.code, "reason": e.reason})
        assert self.commands is not None  # built with the trust store
        try:
            self.commands.accept(env)
        except TrustError as e:
            log.warning("command refused", extra={"op": op, "code": e.code, "reason": e.reason})
            self.bus.publish("trust.command_rejected", {"op": op, "code": e.code}, source="trust")
            return False
        self.bus.publish("trust.command_accepted", {"op": op, "seq": body.get("seq")}, source="trust")
        return True

    def run_forever(self) -> None:
        """Headless: run until SIGINT/SIGTERM."""
        import signal
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        self.bus.subscribe("runtime.restart", lambda e: done.set())
        done.wait()
