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
