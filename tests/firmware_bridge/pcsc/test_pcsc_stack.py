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


_SECOND = """
import sys
from smartcard import scard
from firmware_bridge.pcsc.stack import PcscStack
with PcscStack() as s:
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hr, readers = scard.SCardListReaders(ctx, [])
    print("PRIVATE" if s.private_run else "SHARED", s.proc.pid, readers == s.readers, flush=True)
"""


def test_two_stacks_run_side_by_side_with_private_pid_files():
    import subprocess
    import sys
    from pathlib import Path
    with PcscStack() as first:
        if not first.private_run:
            pytest.fail("pcscd could not get a private /run/pcscd (needs root and util-linux unshare): "
                        "only one private stack can run at a time here")
        # A second stack in another process (its own PC/SC client socket), while the first runs.
        env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
        r = subprocess.run([sys.executable, "-c", _SECOND], capture_output=True, text=True, timeout=60,
                           cwd=str(Path(__file__).resolve().parents[3]), env=env)
        assert r.returncode == 0, r.stderr[-800:]
        kind, pid, sees_readers = r.stdout.split()
        assert kind == "PRIVATE" and sees_readers == "True" and int(pid) != first.proc.pid
        assert _readers() == first.readers and first.proc.poll() is None  # the first one is untouched
        shared = Path("/run/pcscd/pcscd.pid")  # neither wrote the host's pid file
        assert not shared.exists() or shared.read_text().strip() not in (str(first.proc.pid), pid)


_SAME_SOCKET = """
from firmware_bridge.pcsc.stack import PcscStack, StackError
try:
    second = PcscStack().start()
except StackError as e:
    print("REFUSED", e, flush=True)
else:
    print("STARTED", flush=True)
    second.stop()   # the old code's behaviour: leave no pcscd behind
"""


def test_a_stack_refuses_the_socket_of_a_running_one():
    """Two stacks handed one PCSCLITE_CSOCK_NAME (check-layout's panel children inherited a pytest
    session's): the second must not take the path over, or the first one's clients talk to a pcscd
    whose reader has the same name but never gets the first one's cards."""
    import subprocess
    import sys
    from pathlib import Path
    with PcscStack() as first:
        inode = os.stat(first.socket_path).st_ino
        env = dict(os.environ, **{SOCKET_ENV: first.socket_path})
        r = subprocess.run([sys.executable, "-c", _SAME_SOCKET], capture_output=True, text=True, timeout=60,
                           cwd=str(Path(__file__).resolve().parents[3]), env=env)
        assert r.stdout.startswith("REFUSED") and SOCKET_ENV in r.stdout, (r.stdout, r.stderr[-800:])
        assert os.stat(first.socket_path).st_ino == inode   # still the first one's socket
        card = VirtualCard(CardModel(load_profile("social-security"), synthetic_citizen(), t0=True),
                           first.slot_ports[0])
        card.insert()
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        try:
            assert _wait_present(ctx, first.readers[0])   # this process still sees its own card
        finally:
            scard.SCardReleaseContext(ctx)
            card.remove()


def test_stop_leaves_a_socket_that_is_not_its_own(tmp_path):
    """A stopped stack removes its own socket, never one bound at the same path since."""
    with PcscStack() as stack:
        os.unlink(stack.socket_path)
        import socket
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(stack.socket_path)
    try:
        assert os.path.exists(stack.socket_path)
    finally:
        other.close()
        os.unlink(stack.socket_path)
