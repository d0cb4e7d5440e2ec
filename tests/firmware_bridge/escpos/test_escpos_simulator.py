"""The simulator over a real TCP socket and a real pty: tickets, status answers, faults, traces."""
import os
import socket
import threading
from pathlib import Path

import pytest
import serial
import zxingcpp

from firmware_bridge.escpos import parser as P
from firmware_bridge.escpos.document import TicketDoc
from firmware_bridge.escpos.encoder import encode
from firmware_bridge.escpos.render import Renderer
from firmware_bridge.escpos.simulator import PrinterSimulator, format_trace, parse_trace
from firmware_bridge.escpos.status import FULL_REQUEST, decode_status

TRACES = Path(__file__).resolve().parents[2] / "traces" / "escpos"


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked


def ticket_doc(n: str = "A012") -> TicketDoc:
    return (TicketDoc().text("郑州市政务服务中心", size=2, bold=True, align="center")
            .text(f"排队号：{n}", size=2, align="center").rule()
            .text("业务：社会保障卡补办").qr(f"https://x.cn/q?t={n}").cut())


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "simulator closed the link"
        data += chunk
    return data


def ask_status(sock: socket.socket):
    sock.sendall(FULL_REQUEST)
    return decode_status(recv_exactly(sock, 4))


@pytest.fixture
def sim(tmp_path):
    s = PrinterSimulator(out_dir=tmp_path).start()
    yield s
    s.stop()


def test_tcp_ticket_is_rendered_saved_and_reported(sim, tmp_path):
    got = []
    sim.on_ticket = got.append
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(encode(ticket_doc()))
        assert ask_status(s).can_print  # the answer comes after the job was processed
    assert sim.url == f"tcp://127.0.0.1:{sim.port}"
    [t] = sim.tickets
    assert got == [t]
    assert t.text.splitlines()[:2] == ["郑州市政务服务中心", "排队号：A012"]
    assert t.qr_data == ["https://x.cn/q?t=A012"]
    assert t.png_path == tmp_path / "ticket-001.png" and t.png_path.exists()
    assert [c.text for c in zxingcpp.read_barcodes(t.image)] == ["https://x.cn/q?t=A012"]


def test_status_answers_follow_the_faults(sim):
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        assert ask_status(s).can_print
        sim.set_paper_near_end(True)
        st = ask_status(s)
        assert st.paper_near_end and st.can_print
        sim.set_cover_open(True)
        st = ask_status(s)
        assert st.cover_open and not st.online
        sim.set_cover_open(False)
        sim.go_offline(True)
        assert not ask_status(s).online
        sim.go_offline(False)
        sim.set_paper_out(True)
        st = ask_status(s)
        assert st.paper_out and not st.online and not st.can_print


def test_paper_out_loses_the_job(sim):
    sim.set_paper_out(True)
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(encode(ticket_doc()))
        assert ask_status(s).paper_out
        sim.set_paper_out(False)
        s.sendall(encode(ticket_doc("A013")))
        assert ask_status(s).can_print
    assert sim.lost_jobs == 1
    assert [t.qr_data for t in sim.tickets] == [["https://x.cn/q?t=A013"]]


def test_paper_runs_out_after_n_bytes(sim):
    sim.set_paper_out_after(100)
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(encode(ticket_doc()))
        assert ask_status(s).paper_out
    assert sim.tickets == [] and sim.lost_jobs == 1


def test_several_connections_at_once_and_one_after_another(sim):
    a = socket.create_connection(("127.0.0.1", sim.port))
    b = socket.create_connection(("127.0.0.1", sim.port))  # e.g. a doctor probe while the kiosk is connected
    try:
        a.sendall(encode(ticket_doc("A001"))[:50])  # half a job on a
        assert ask_status(b).can_print
        a.sendall(encode(ticket_doc("A001"))[50:])
        assert ask_status(a).can_print
    finally:
        a.close()
        b.close()
    with socket.create_connection(("127.0.0.1", sim.port)) as c:
        c.sendall(encode(ticket_doc("A002")))
        assert ask_status(c).can_print
    assert [t.qr_data[0][-4:] for t in sim.tickets] == ["A001", "A002"]


def test_pty_port_and_link(tmp_path):
    link = tmp_path / "printer-tty"
    with PrinterSimulator(pty_link=link, tcp=False) as sim:
        assert os.path.realpath(link) == sim.pty_port
        with serial.Serial(str(link), 115200, timeout=2) as port:
            port.write(encode(ticket_doc()))
            port.write(FULL_REQUEST)
            assert decode_status(port.read(4)).can_print
        assert sim.tickets[0].qr_data == ["https://x.cn/q?t=A012"]
    assert not link.exists()


def test_trace_records_both_directions(sim):
    with socket.create_connection(("127.0.0.1", sim.port)) as s:
        s.sendall(b"\x1b@")
        ask_status(s)
    text = format_trace(sim.trace, "test")
    assert text.startswith("# from the simulator: test")
    back = parse_trace(text)
    assert back[0][0] == ">" and back[0][1].startswith(b"\x1b@")  # TCP may merge the chunks
    assert [d for d, _ in back].count("<") == 4


@pytest.mark.parametrize("name", sorted(p.name for p in TRACES.glob("*.trace")))
def test_recorded_traces_replay(name):
    trace = parse_trace((TRACES / name).read_text(encoding="utf-8"))
    assert trace
    host = b"".join(data for d, data in trace if d == ">")
    answers = b"".join(data for d, data in trace if d == "<")
    ops = P.Parser().feed(host)
    assert sum(isinstance(o, P.StatusRequest) for o in ops) == len(answers)
    for i in range(0, len(answers), 4):
        decode_status(answers[i:i + 4])  # every answer is a valid status byte
    r = Renderer()
    r.feed(ops)
    if "ticket" in name:
        assert any(isinstance(o, P.CutOp) for o in ops)
        assert r.qr_printed and "排队号" in r.text
