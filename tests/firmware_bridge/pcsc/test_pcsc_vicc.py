"""The virtual card: ISO 7816-4 answers of the card model, and vpcd's framing over a real TCP socket
(this test plays vpcd's side; test_pcsc_stack.py and the driver tests use the real vpcd)."""
import socket
import struct

import pytest

from firmware_bridge.pcsc.profile import load_profile
from firmware_bridge.pcsc.vicc import GET_ATR, POWER_ON, RESET, CardModel, VirtualCard, make_atr, synthetic_citizen


@pytest.fixture
def card():
    return CardModel(load_profile("social-security"), synthetic_citizen())


def ask(card, *hexes):
    return [card.process(bytes.fromhex(h)).hex().upper() for h in hexes][-1]


AID = "7378312E73682EC9E7BBE1B1A3D5CF"


@pytest.mark.parametrize("commands, answer", [
    (["00A4040C05A000000003"], "6A82"),                  # unknown application
    (["00B2010400"], "6986"),                            # no EF selected
    (["00A4020C02EF05"], "6A82"),                        # EF before the application
    ([f"00A4040C0F{AID}", "00A4020C02EF09"], "6A82"),    # no such EF
    ([f"00A4040C0F{AID}", "00A4020C02EF05", "00B2200400"], "6A83"),  # no such record
    ([f"00A4040C0F{AID}", "00A4020C02EF05", "00B2070500"], "6A86"),  # P2 not "record number"
    ([f"00A4040C0F{AID}", "00A4020C02EF05", "00B2070404"], "6C0B"),  # wrong Le -> exact length
    ([f"00A4040C0F{AID}", "00A4020C02EF05", "00B0000010"], "6981"),  # READ BINARY on a record EF
    ([f"00A4040C0F{AID}", "00A4FF0C02EF05"], "6A86"),
    (["00C0000010"], "6985"),                            # GET RESPONSE with nothing pending
    (["00EE000000"], "6D00"),
    (["A0B2010400"], "6E00"),
    (["00A4"], "6700"),
    (["FFCA000000"], "04A23B1C9000"),
    (["FFCA010000"], "6A81"),
])
def test_card_model_answers(card, commands, answer):
    assert ask(card, *commands) == answer


def test_t0_card_announces_and_serves_get_response():
    t0 = CardModel(load_profile("social-security"), synthetic_citizen(), t0=True)
    ask(t0, f"00A4040C0F{AID}", "00A4020C02EF05")
    assert ask(t0, "00B2070400") == "610B"
    assert ask(t0, "00C0000005") == "07094131326106"     # partial, 6 more
    assert ask(t0, "00C0000006") == "3334353637389000"
    assert ask(t0, "00C0000006") == "6985"               # nothing left


def test_atrs_are_well_formed():
    t1 = make_atr(False, b"HIST")
    assert t1[0] == 0x3B and t1[1] == 0x84 and t1[2] == 0x01 and t1[3:7] == b"HIST"
    check = 0
    for b in t1[1:]:
        check ^= b
    assert check == 0  # TCK makes the XOR of T0..TCK zero
    assert make_atr(True, b"HIST") == b"\x3b\x04HIST"


def _send(conn, payload: bytes) -> None:
    conn.sendall(struct.pack(">H", len(payload)) + payload)


def _recv(conn) -> bytes:
    header = conn.recv(2, socket.MSG_WAITALL)
    (n,) = struct.unpack(">H", header)
    return conn.recv(n, socket.MSG_WAITALL)


@pytest.fixture
def fake_vpcd():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    yield server
    server.close()


def test_vpcd_protocol_over_tcp(fake_vpcd, card):
    vicc = VirtualCard(card, fake_vpcd.getsockname()[1])
    vicc.insert()
    try:
        conn, _ = fake_vpcd.accept()
        with conn:
            conn.settimeout(10)
            _send(conn, bytes((POWER_ON,)))               # no answer expected
            _send(conn, bytes((GET_ATR,)))
            assert _recv(conn) == card.atr
            _send(conn, bytes.fromhex("FFCA000000"))
            assert _recv(conn).hex().upper() == "04A23B1C9000"
            _send(conn, bytes((RESET,)))
            _send(conn, bytes.fromhex("00B2010400"))      # reset cleared the selection
            assert _recv(conn).hex().upper() == "6986"
            vicc.remove()
            assert conn.recv(2) == b""                    # removal closes the link
    finally:
        vicc.remove()
    assert not vicc.connected.is_set()


def test_pull_mid_transaction_drops_without_answer(fake_vpcd, card):
    vicc = VirtualCard(card, fake_vpcd.getsockname()[1])
    vicc.insert()
    try:
        conn, _ = fake_vpcd.accept()
        with conn:
            conn.settimeout(10)
            vicc.pull_after(2)
            _send(conn, bytes.fromhex(f"00A4040C0F{AID}"))
            assert _recv(conn) == b"\x90\x00"
            _send(conn, bytes.fromhex("00A4020C02EF05"))
            assert conn.recv(2) == b""                    # pulled: no answer, link closed
    finally:
        vicc.remove()
    assert vicc._thread is None  # the card stays out: no reconnect loop left behind


def test_card_reconnects_when_the_reader_comes_back(fake_vpcd, card):
    vicc = VirtualCard(card, fake_vpcd.getsockname()[1])
    vicc.insert()
    try:
        first, _ = fake_vpcd.accept()
        first.close()                                     # pcscd went away
        second, _ = fake_vpcd.accept()                    # the card (still in) connects again
        with second:
            second.settimeout(10)
            _send(second, bytes((GET_ATR,)))
            assert _recv(second) == card.atr
    finally:
        vicc.remove()
