"""What goes on paper: queue tickets, booking slips, progress slips, test pages.

Builds printer-independent ``TicketDoc`` documents (firmware_bridge.escpos.document); the printer
driver encodes them. Paper is a public thing (tickets are left on counters): names are masked,
ID numbers never printed, and the QR codes carry only a queue reference, never a citizen's data.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from firmware_bridge.escpos.document import TicketDoc

#: Where a citizen follows the queue / an application from their phone (the city's service
#: portal). Only a queue reference goes in the QR: never a name or an ID number.
PROGRESS_URL = "https://zwfw.zhengzhou.gov.cn/q"


def queue_qr_text(hall_code: str, date: str, queue_no: str) -> str:
    """The text of a ticket's QR code: a link to follow the queue (no personal data)."""
    return f"{PROGRESS_URL}?h={quote(hall_code)}&d={date}&n={quote(queue_no)}"


def checkin_ticket(*, hall: str, terminal: str, hall_code: str, masked_name: str, item_name: str,
                   queue_no: str, window: str, people_ahead: int, when: dt.datetime,
                   english: bool = False) -> TicketDoc:
    """The queue ticket printed after a check-in or a walk-in."""
    doc = TicketDoc()
    doc.text(hall, size=(1, 1), bold=True, align="center")
    doc.text("预约取号凭条" + (" / Appointment ticket" if english else ""), align="center")
    doc.rule()
    doc.text(queue_no, size=(3, 3), bold=True, align="center")
    doc.text(f"请到 {window} 号窗口办理" + (f" / Window {window}" if english else ""), size=(1, 2),
             align="center")
    doc.text(f"前面还有 {people_ahead} 人" + (f" / {people_ahead} ahead" if english else ""), align="center")
    doc.rule()
    doc.text(f"姓名：{masked_name}")
    doc.text(f"事项：{item_name}")
    doc.text(f"时间：{when:%Y-%m-%d %H:%M}")
    doc.text(f"终端：{terminal}")
    doc.qr(queue_qr_text(hall_code, when.date().isoformat(), queue_no), size=6)
    doc.text("扫码查看排队进度", align="center")
    doc.feed(2)
    doc.cut()
    return doc


#: Where a slip says the result can be followed online (the same portal as the queue QR).
LEVEL_NAMES_ZH = {"village": "村（社区）", "township": "乡（镇）", "county": "县（市、区）", "city": "市"}
#: Characters per line of an 80 mm roll at the normal font (12 dots per half-width char, 576 dots):
#: 48 half-width or 24 Chinese characters. Longer guide lines are wrapped to this.
LINE_CJK = 24


def _wrap(text: str, width: int = LINE_CJK) -> list[str]:
    """Split ``text`` into lines of at most ``width`` Chinese characters (2 ASCII count as 1)."""
    lines, cur, used = [], "", 0.0
    for ch in text:
        w = 0.5 if ord(ch) < 0x2E80 else 1.0
        if used + w > width:
            lines.append(cur)
            cur, used = "", 0.0
        cur += ch
        used += w
    if cur:
        lines.append(cur)
    return lines or [""]


def booking_slip(*, hall: str, terminal: str, masked_name: str, item_name: str, date: str, start: str,
                 end: str, window: str, checkin_code: str, when: dt.datetime, english: bool = False) -> TicketDoc:
    """The booking slip: day, time, window, the check-in rule and a QR code to check in with."""
    doc = TicketDoc()
    doc.text(hall, size=(1, 1), bold=True, align="center")
    doc.text("预约凭条" + (" / Booking slip" if english else ""), size=(2, 2), bold=True, align="center")
    doc.rule()
    doc.text(f"姓名：{masked_name}")
    doc.text(f"事项：{item_name}")
    doc.text(f"日期：{date}", size=(1, 2), bold=True)
    doc.text(f"时段：{start}-{end}", size=(1, 2), bold=True)
    doc.text(f"窗口：{window} 号窗口" + (f" / Window {window}" if english else ""))
    doc.text("请在预约时间前30分钟至开始后15分钟内签到")
    if english:
        doc.text("Check in from 30 min before to 15 min after the start")
    doc.rule()
    doc.qr(checkin_code, size=6)
    doc.text("到大厅后在自助终端扫描此码签到" + (" / Scan at a kiosk to check in" if english else ""),
             align="center")
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def progress_slip(*, hall: str, terminal: str, application: dict, when: dt.datetime) -> TicketDoc:
    """A progress slip: the application's number, the steps across the levels and the deadline."""
    a = application
    doc = TicketDoc()
    doc.text(hall, bold=True, align="center")
    doc.text("办件进度查询单", size=(2, 2), bold=True, align="center")
    doc.rule()
    doc.text(f"申请号：{a.get('application_no', '')}")
    doc.text(f"事项：{a.get('item_name', '')}")
    days = a.get("days_left", 0)
    doc.text(f"承诺办结：{a.get('promised_deadline', '')}" +
             (f"（剩余 {days} 个工作日）" if days >= 0 else f"（已超期 {-days} 天）"))
    doc.text(f"当前办理：{a.get('current_agency', '')}")
    doc.rule()
    marks = {"done": "[已办]", "current": "[办理中]"}
    for s in a.get("steps", []):
        level = LEVEL_NAMES_ZH.get(s.get("level", ""), s.get("level", ""))
        for line in _wrap(f"{marks.get(s.get('status'), '[待办]')} {level} {s.get('agency', '')} {s.get('action', '')}"):
            doc.text(line)
    doc.rule()
    for line in _wrap(f"领取地点：{a.get('collect_at', '')}"):
        doc.text(line)
    doc.qr(f"{PROGRESS_URL}?a={quote(str(a.get('application_no', '')))}", size=5)
    doc.text("扫码随时查看办件进度", align="center")
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def guide_slip(*, hall: str, terminal: str, item: dict, department: str, when: dt.datetime) -> TicketDoc:
    """The service guide of one item on paper: agency, basis, time limits, fee, materials, steps, window."""
    it = item
    fee = it.get("fee") or {}
    doc = TicketDoc()
    doc.text(hall, bold=True, align="center")
    doc.text("办事指南", size=(2, 2), bold=True, align="center")
    for line in _wrap(it.get("name", ""), LINE_CJK // 2):
        doc.text(line, size=(2, 2), bold=True, align="center")
    doc.rule()
    rows = [("实施机关", it.get("agency", "") or department), ("主管部门", department),
            ("设定依据", it.get("legal_basis", "")),
            ("办理时限", f"法定 {it.get('statutory_days', '')} 个工作日，承诺 {it.get('promised_days', '')} 个工作日"),
            ("收费", "不收费" if not fee.get("amount_yuan") else f"{fee['amount_yuan']:.2f} 元 {fee.get('note', '')}"),
            ("办理地点", f"{it.get('location', '')} {it.get('window', '')} 号窗口"),
            ("网上办理", "可以" if it.get("online") else "不可以")]
    for k, v in rows:
        for line in _wrap(f"{k}：{v}"):
            doc.text(line)
    doc.text("申请材料：", bold=True)
    for m in it.get("materials", []):
        for line in _wrap(f"· {m.get('name', '')} ×{m.get('copies', 1)}" + ("（原件）" if m.get("original") else "")):
            doc.text(line)
    doc.text("办理流程：", bold=True)
    for line in _wrap(" → ".join(it.get("steps", []))):
        doc.text(line)
    doc.rule()
    doc.text(f"{terminal}  {when:%Y-%m-%d %H:%M}", align="center")
    doc.feed(2)
    doc.cut()
    return doc


def test_page(*, hall: str, terminal: str, when: dt.datetime) -> TicketDoc:
    """A test page: Chinese text in every size, and a QR code."""
    doc = TicketDoc()
    doc.text("打印测试页 / Test page", size=(2, 2), bold=True, align="center")
    doc.text(hall, align="center")
    doc.text(f"终端 {terminal}  {when:%Y-%m-%d %H:%M:%S}")
    doc.text("中文字符测试：郑州市政务服务网 四级联动")
    doc.qr(f"{PROGRESS_URL}?test={quote(terminal)}", size=6)
    doc.feed(2)
    doc.cut()
    return doc
