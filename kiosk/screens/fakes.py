"""Stand-ins for the UI tests and the headless tour: a fake gateway, a fake printer and ``Sim``.

The real drivers, gateway and central service are built by other parts of the runtime; these
fakes implement the same small interfaces (passed in, never patched) so the screens can be
driven deterministically with no broker. ``Sim`` is what a tour step calls to act on the world:
place or remove an ID card, run the printer out of paper, scan a code, cut the network. Events
are published from a worker thread, as real device threads do. Data here is synthetic.
"""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.devices.base import DeviceError, DeviceState, Health
from kiosk.network.errors import Offline, Rejected

#: Synthetic citizens (not real people; ID numbers pass the GB 11643 check digit).
CITIZENS = (
    {"name": "张三丰", "id_number": "410122199001011232", "birth_date": dt.date(1990, 1, 1),
     "address": "河南省郑州市中牟县刁家乡刁家村1号", "sex": "男"},
    {"name": "李秀英", "id_number": "410122195203150027", "birth_date": dt.date(1952, 3, 15),
     "address": "河南省郑州市中牟县刁家乡东村8号", "sex": "女"},
    {"name": "王芳", "id_number": "410122198807070021", "birth_date": dt.date(1988, 7, 7),
     "address": "河南省郑州市中牟县城关镇2号", "sex": "女"},
)


@dataclass
class FakeIdentity:
    """What an ID-card driver publishes with ``idcard.identity`` (the fields the session reads)."""

    name: str
    id_number: str
    birth_date: dt.date
    address: str
    sex: str
    card_type: str = "resident"


class PaperOut(DeviceError):
    """The printer has no paper (the fake's stand-in for the printer driver's error)."""

    code = "printer.paper_out"
    citizen_message = "打印机缺纸，请记下屏幕上的号码，工作人员马上处理。"


@dataclass
class RenderedTicket:
    """A ticket the fake printer "printed": its text and a PNG rendering."""

    text: str
    png_path: str | None


class FakePrinter:
    """A printer device that renders tickets to PNG files and can run out of paper."""

    role = "printer"
    driver_name = "printer.fake"

    def __init__(self, out_dir: str | Path | None = None, font_path: str | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir else None
        self.font_path = font_path
        self.paper_out = False
        self.printed: list[RenderedTicket] = []
        self.state = DeviceState.READY

    def start(self) -> None:
        """Nothing to open."""

    def stop(self) -> None:
        """Nothing to close."""

    def health(self) -> Health:
        """READY, or ERROR with paper out."""
        if self.paper_out:
            return Health("printer", self.driver_name, DeviceState.ERROR,
                          PaperOut("paper out", action="load paper").to_dict())
        return Health("printer", self.driver_name, DeviceState.READY)

    def print_ticket(self, doc) -> None:
        """Render ``doc`` (a TicketDoc) or raise PaperOut."""
        if self.paper_out:
            raise PaperOut("paper out sensor", action="load a new roll of 80 mm paper")
        png = None
        if self.out_dir is not None:
            png = str(self.out_dir / f"ticket-{len(self.printed) + 1:02d}.png")
            render_ticket(doc, png, self.font_path)
        self.printed.append(RenderedTicket(doc.plain_text(), png))


def render_ticket(doc, path: str, font_path: str | None) -> None:
    """Draw a TicketDoc on an 80 mm (576 dot) strip with Pillow: text lines, rules and QR codes."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont
    from firmware_bridge.escpos.document import QR, Rule, Text, Feed
    width, y = 576, 16
    img = Image.new("L", (width, 4000), 255)
    draw = ImageDraw.Draw(img)
    for el in doc.elements:
        if isinstance(el, Text):
            size = 24 * el.size[1]
            font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default()
            w = draw.textlength(el.text, font=font)
            x = {"left": 8, "center": (width - w) / 2, "right": width - w - 8}[el.align]
            draw.text((x, y), el.text, font=font, fill=0)
            y += size + 8
        elif isinstance(el, Rule):
            draw.line((8, y + 6, width - 8, y + 6), fill=0, width=2)
            y += 16
        elif isinstance(el, QR):
            q = qrcode.make(el.data, box_size=el.size, border=2).get_image().convert("L")
            img.paste(q, ((width - q.width) // 2, y))
            y += q.height + 8
        elif isinstance(el, Feed):
            y += 24 * el.lines
    img.crop((0, 0, width, y + 16)).save(path)


class FakeCatalogue:
    """The catalogue cache's interface over a few synthetic service items."""

    def __init__(self, items: list[dict]) -> None:
        self._items = items

    def categories(self) -> list[dict]:
        """Distinct categories."""
        seen: dict[str, dict] = {}
        for i in self._items:
            seen.setdefault(i["category"], {"code": i["category"], "name": i["category"]})
        return list(seen.values())

    def items(self) -> list[dict]:
        """Every item."""
        return list(self._items)

    def item(self, code: str) -> dict | None:
        """One item by code."""
        return next((i for i in self._items if i["code"] == code), None)

    def search(self, query: str) -> list[dict]:
        """Substring or pinyin initials."""
        from pypinyin import Style, lazy_pinyin
        q = (query or "").strip().lower()
        if not q:
            return []
        out = []
        for i in self._items:
            initials = "".join(lazy_pinyin(i["name"], style=Style.FIRST_LETTER)).lower()
            if q in i["name"] or q in initials or q in i.get("name_en", "").lower():
                out.append(i)
        return out

    def lines(self) -> list[dict]:
        """Business lines for walk-in tickets."""
        return [{"code": "A", "name": "综合受理", "name_en": "General"},
                {"code": "B", "name": "社会保障", "name_en": "Social security"},
                {"code": "C", "name": "不动产登记", "name_en": "Real estate"}]


def _item(code, name, name_en, category, department, days, fee=0.0, online=True) -> dict:
    return {
        "code": code, "name": name, "name_en": name_en, "category": category, "department": department,
        "agency": department, "legal_basis": "《河南省老年人权益保障条例》第十条", "statutory_days": days * 2,
        "promised_days": days, "fee": {"amount_yuan": fee, "note": "不收费" if not fee else "按标准收费"},
        "materials": [{"name": "居民身份证", "copies": 1, "original": True, "note": ""},
                      {"name": "近期一寸免冠照片", "copies": 2, "original": True, "note": "白底"}],
        "steps": ["申请", "受理", "审核", "办结"], "window": "3", "location": "便民服务中心一楼",
        "online": online, "line": "A",
        "linkage": {"four_level": True, "levels": ["village", "township", "county"],
                    "accept_level": "township", "decide_level": "county"},
        "faq": [{"q": "可以代办吗？", "a": "可以，代办人需携带双方身份证。"}],
    }


ITEMS = [
    _item("410122-LN-001", "老年优待证办理", "Senior citizen card", "社会保障", "县民政局", 3),
    _item("410122-YB-002", "城乡居民医保参保登记", "Resident medical insurance", "社会保障", "县医保局", 1),
    _item("410122-HJ-003", "户口迁移登记", "Household registration transfer", "户籍", "县公安局", 5),
    _item("410122-BDC-004", "不动产权证书补发", "Real estate certificate reissue", "不动产", "县自然资源局", 10, 80.0),
]


class FakePending:
    """A submitted durable request: ``wait`` returns the result or raises the error."""

    def __init__(self, fn) -> None:
        self._fn = fn

    def wait(self, timeout_s: float | None = None) -> dict:
        """The central service's answer."""
        return self._fn()


class FakeGateway:
    """The gateway's interface, answering like the reference central service with synthetic data."""

    def __init__(self, clock, bus) -> None:
        self.clock, self.bus = clock, bus
        self.online = True
        self.catalogue = FakeCatalogue(ITEMS)
        self.events: list[tuple[str, dict]] = []
        self.submitted: list[tuple[str, dict]] = []
        self._queue = 12
        self._lock = threading.Lock()

    def start(self) -> None:
        """Nothing to connect."""

    def stop(self) -> None:
        """Nothing to close."""

    def outbox_depth(self) -> int:
        """Durable items not yet acknowledged."""
        return 0 if self.online else len(self.submitted)

    def publish_telemetry(self, body: dict) -> None:
        """Dropped."""

    def sync_catalogue(self) -> None:
        """The cache is always fresh here."""
        self._need_online("catalogue.sync")

    def set_online(self, online: bool) -> None:
        """Cut or restore the network (publishes network.online/offline like the gateway)."""
        self.online = online
        self.bus.publish("network.online" if online else "network.offline", None, source="network")

    def _need_online(self, op: str) -> None:
        if not self.online:
            raise Offline(f"{op}: not connected")

    def emit_event(self, name: str, body: dict) -> None:
        """Queue an event (kept for assertions)."""
        self.events.append((name, dict(body)))

    def request(self, op: str, body: dict) -> dict:
        """One request/response operation of contract v1."""
        self._need_online(op)
        today = self.clock.today().isoformat()
        if op == "citizen.lookup":
            return {"citizen_ref": "C-" + uuid.uuid5(uuid.NAMESPACE_OID, body["id_number"]).hex[:12]}
        if op == "appointments.list":
            return {"appointments": self._appointments(body["citizen_ref"], today)}
        if op == "applications.list":
            return {"applications": [self._application("ZM2026112000123")]}
        if op == "application.get":
            if not body["application_no"].startswith("ZM"):
                raise Rejected("not_found", "no such application", op)
            return {"application": self._application(body["application_no"])}
        if op == "slots.list":
            return {"slots": [{"slot_id": f"S{h}", "start": f"{h:02d}:00", "end": f"{h:02d}:30",
                               "capacity": 5, "free": 0 if h == 10 else 3} for h in (9, 10, 14, 15)]}
        raise Rejected("invalid", f"unknown op {op}", op)

    def submit(self, op: str, body: dict, idem: str) -> FakePending:
        """A durable operation; the result comes from ``wait``."""
        self.submitted.append((op, dict(body)))

        def answer() -> dict:
            self._need_online(op)
            with self._lock:
                self._queue += 1
                n = self._queue
            if op == "checkin":
                if body["appointment_id"].endswith("-early"):
                    raise Rejected("too_early", "check-in opens 30 min before", op)
                return {"queue_no": f"A{n:03d}", "window": "3", "people_ahead": 4,
                        "item_name": "老年优待证办理", "line": "A"}
            if op == "ticket.walkin":
                return {"queue_no": f"{body['line']}{n:03d}", "window": "5", "people_ahead": 2,
                        "line": body["line"]}
            if op == "appointment.book":
                return {"appointment_id": f"AP-{n}", "date": "2026-11-25", "start": "09:00", "end": "09:30",
                        "window": "3", "checkin_code": f"CK{n:06d}"}
            if op == "feedback.submit":
                return {"feedback_id": f"FB-{n}"}
            return {}
        return FakePending(answer)

    def _appointments(self, ref: str, today: str) -> list[dict]:
        base = {"date": today, "window": "3", "status": "booked", "checkin_from": "09:00",
                "checkin_until": "10:15"}
        return [dict(base, appointment_id="AP-1", item_name="老年优待证办理", start="09:30", end="10:00"),
                dict(base, appointment_id="AP-2-early", item_name="户口迁移登记", start="15:00", end="15:30",
                     checkin_from="14:30", checkin_until="15:45")]

    def _application(self, no: str) -> dict:
        return {"application_no": no, "item_name": "老年优待证办理", "status": "processing",
                "promised_deadline": "2026-11-26", "days_left": 2, "flag": "yellow",
                "current_level": "county", "current_agency": "中牟县民政局",
                "collect_at": "刁家乡便民服务中心 3号窗口",
                "steps": [{"level": "village", "agency": "刁家村便民服务站", "action": "代办受理", "at": "2026-11-20 10:02", "status": "done"},
                          {"level": "township", "agency": "刁家乡便民服务中心", "action": "初审", "at": "2026-11-21 15:40", "status": "done"},
                          {"level": "county", "agency": "中牟县民政局", "action": "审核", "at": "", "status": "current"},
                          {"level": "city", "agency": "郑州市民政局", "action": "备案", "at": "", "status": "pending"}]}


class Sim:
    """What a tour step acts on: ID card, printer paper, scanner, network (events from a thread)."""

    def __init__(self, bus, printer: FakePrinter, gateway: FakeGateway, clock=None) -> None:
        self.bus, self.printer, self.gateway, self.clock = bus, printer, gateway, clock

    def _from_device_thread(self, topic: str, data: Any, source: str) -> None:
        t = threading.Thread(target=self.bus.publish, args=(topic, data, source), daemon=True)
        t.start()
        t.join()

    def place_card(self, index: int = 0) -> None:
        """Put citizen ``index``'s ID card on the reader."""
        c = CITIZENS[index % len(CITIZENS)]
        self._from_device_thread("idcard.presented", None, "idcard")
        self._from_device_thread("idcard.identity", FakeIdentity(**c), "idcard")

    def remove_card(self) -> None:
        """Take the card away."""
        self._from_device_thread("idcard.removed", None, "idcard")

    def set_paper_out(self, out: bool) -> None:
        """Run the printer out of paper (or load it)."""
        self.printer.paper_out = out
        self._from_device_thread("printer.state", {"state": "error" if out else "ready"}, "printer")

    def scan(self, text: str) -> None:
        """A QR code or barcode read by the scanner."""
        self._from_device_thread("scanner.scan", {"text": text}, "scanner")

    def set_online(self, online: bool) -> None:
        """Cut or restore the central network."""
        self.gateway.set_online(online)

    def advance(self, seconds: float) -> None:
        """Move the (fake) clock: inactivity timeouts without waiting."""
        self.clock.advance(seconds)

    def tickets(self) -> list[RenderedTicket]:
        """Tickets printed so far."""
        return list(self.printer.printed)
