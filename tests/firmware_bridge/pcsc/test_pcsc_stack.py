"""The private pcscd: starts with the vpcd reader, serves a virtual card, restarts, cleans up."""
import os

import pytest
from smartcard import scard

from firmware_bridge.pcsc.profile import load_profile, read_card
from firmware_bridge.pcsc.stack import SOCKET_ENV, PcscStack
from firmware_bridge.pcsc.vicc import CardModel, VirtualCard, synthetic_citizen

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _readers():
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return None
    try:
        hr, readers = scard.SCardListReaders(ctx, [])
        return readers
    finally:
        scard.SCardReleaseContext(ctx)


def _wait_present(ctx, reader, timeout_ms=10000):
    state = scard.SCARD_STATE_UNAWARE
    while True:
        hr, states = scard.SCardGetStatusChange(ctx, timeout_ms, [(reader, state)])
        assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
        state = states[0][1]
        if state & scard.SCARD_STATE_PRESENT:
            return bytes(states[0][2])


def test_private_stack_lifecycle():
    stack = PcscStack()
    assert os.environ[SOCKET_ENV] == stack.socket_path
    assert not stack.socket_path.startswith("/run/pcscd")
    with stack:
        assert _readers() == stack.readers
        stack.restart()
        assert _readers() == stack.readers
    assert stack.proc is None and not os.path.exists(stack.socket_path)
    assert _readers() is None  # nothing answers any more


def test_card_through_real_pcscd_and_vpcd():
    with PcscStack() as stack:
        model = CardModel(load_profile("social-security"), synthetic_citizen(), t0=True)
        card = VirtualCard(model, stack.slot_ports[1])
        card.insert()
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        try:
            assert _wait_present(ctx, stack.readers[1]) == model.atr
            hr, hcard, proto = scard.SCardConnect(ctx, stack.readers[1], scard.SCARD_SHARE_SHARED,
                                                  scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
            assert hr == scard.SCARD_S_SUCCESS and proto == scard.SCARD_PROTOCOL_T0

            def tx(raw):
                hr, resp = scard.SCardTransmit(hcard, scard.SCARD_PCI_T0, list(raw))
                assert hr == scard.SCARD_S_SUCCESS
                return bytes(resp)
            assert dict(read_card(model.profile, tx)) == synthetic_citizen()
            scard.SCardDisconnect(hcard, scard.SCARD_LEAVE_CARD)
        finally:
            scard.SCardReleaseContext(ctx)
            card.remove()
