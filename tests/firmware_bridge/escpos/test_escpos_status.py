"""DLE EOT status: request bytes, each bit of each answer, fixed-bit checks, round trips."""
import itertools

import pytest

from firmware_bridge.escpos.status import (
    FULL_REQUEST,
    PrinterStatus,
    StatusError,
    check_status_byte,
    decode_status,
    encode_status,
    status_request,
)

OK = bytes([0x12, 0x12, 0x12, 0x12])  # all fixed bits, nothing wrong


def test_requests():
    assert status_request(1) == b"\x10\x04\x01"
    assert FULL_REQUEST == b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
    with pytest.raises(StatusError):
        status_request(5)


@pytest.mark.parametrize("answer, expected", [
    (OK, PrinterStatus()),
    (bytes([0x1A, 0x12, 0x12, 0x12]), PrinterStatus(online=False)),                 # n1 bit3
    (bytes([0x16, 0x12, 0x12, 0x12]), PrinterStatus()),                             # n1 bit2 drawer
    (bytes([0x1A, 0x16, 0x12, 0x12]), PrinterStatus(online=False, cover_open=True)),  # n2 bit2
    (bytes([0x1A, 0x1A, 0x12, 0x12]), PrinterStatus(online=False)),                 # n2 bit3 feed button
    (bytes([0x1A, 0x32, 0x12, 0x72]), PrinterStatus(online=False, paper_out=True)),  # n2 bit5 + n4 bits5,6
    (bytes([0x12, 0x12, 0x12, 0x72]), PrinterStatus(paper_out=True)),               # n4 end sensor only
    (bytes([0x12, 0x12, 0x12, 0x32]), PrinterStatus(paper_out=True)),               # clone: one bit of pair
    (bytes([0x12, 0x12, 0x12, 0x1E]), PrinterStatus(paper_near_end=True)),          # n4 bits2,3
    (bytes([0x1A, 0x52, 0x1A, 0x12]), PrinterStatus(online=False, error=True, cutter_error=True)),
    (bytes([0x1A, 0x52, 0x32, 0x12]), PrinterStatus(online=False, error=True, unrecoverable=True)),
    (bytes([0x1A, 0x52, 0x52, 0x12]), PrinterStatus(online=False, error=True)),     # n3 bit6 auto-recover
    (bytes([0x12, 0x12, 0x16, 0x12]), PrinterStatus(error=True)),                   # n3 bit2 mechanism
])
def test_decode_table(answer, expected):
    assert decode_status(answer) == expected


@pytest.mark.parametrize("bad", [0x00, 0x10, 0x02, 0x92, 0x13, 0xFF])
def test_bytes_without_the_fixed_pattern_are_refused(bad):
    with pytest.raises(StatusError):
        check_status_byte(1, bad)
    with pytest.raises(StatusError):
        decode_status(bytes([bad]) + OK[1:])


def test_short_answer_is_a_typed_error():
    with pytest.raises(StatusError, match="expected 4"):
        decode_status(b"\x12\x12")


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=4)))
def test_round_trip(flags):
    cover, near, out, err = flags
    st = PrinterStatus(online=not (cover or out or err), cover_open=cover, paper_near_end=near,
                       paper_out=out, error=err)
    assert decode_status(bytes(encode_status(n, st) for n in (1, 2, 3, 4))) == st
    assert st.can_print == (not (cover or out or err))
