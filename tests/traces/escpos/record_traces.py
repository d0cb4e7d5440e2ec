"""Re-record the ESC/POS traces in this directory from the simulator (run by hand, not by pytest).

    .venv/bin/python tests/traces/escpos/record_traces.py

Each file is labelled "from the simulator": these are not captures from a hardware printer.
"""
from __future__ import annotations

from pathlib import Path

from firmware_bridge.escpos.document import TicketDoc
from firmware_bridge.escpos.simulator import PrinterSimulator, format_trace
from kiosk.devices.base import Backoff
from kiosk.devices.printer import EscPosPrinter, PaperOut
from kiosk.events import EventBus

HERE = Path(__file__).resolve().parent


def ticket() -> TicketDoc:
    return (TicketDoc().text("郑州市政务服务中心", size=2, bold=True, align="center")
            .text("排队号：A012", size=2, align="center").rule()
            .text("业务：社会保障卡补办").text("前面等候 5 人，请留意叫号")
            .qr("https://zwfw.zhengzhou.gov.cn/q?t=A012&h=HALL-0001", size=6).cut())


def record(name: str, label: str, profile: str, paper_out_after: int | None = None) -> None:
    with PrinterSimulator(profile=profile) as sim:
        p = EscPosPrinter(sim.url, {"profile": profile}, EventBus(), backoff=Backoff(0.01, 0.05))
        p.start()
        if paper_out_after is not None:
            sim.set_paper_out_after(paper_out_after)
        try:
            p.print_ticket(ticket())
        except PaperOut:
            pass
        p.stop()
        (HERE / name).write_text(format_trace(sim.trace, label), encoding="utf-8")


if __name__ == "__main__":
    record("ticket-80mm-native-qr.trace",
           "kiosk driver prints a queue ticket (Chinese text, native QR) on default-80mm", "default-80mm")
    record("ticket-58mm-native-qr.trace",
           "kiosk driver prints a queue ticket (Chinese text, native QR) on default-58mm", "default-58mm")
    record("paper-out-mid-job.trace",
           "paper runs out 150 bytes into the job; the after-job status reports paper out",
           "default-80mm", paper_out_after=150)
