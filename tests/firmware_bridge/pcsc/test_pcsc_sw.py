"""The status-word table: every listed SW maps to the right kind and typed error."""
import pytest

from firmware_bridge.pcsc import sw
from kiosk.devices.base import DeviceError
from kiosk.errors import KioskError


@pytest.mark.parametrize("word, kind", [
    (0x9000, "ok"), (0x6282, "warning"), (0x6110, "more"), (0x6100, "more"), (0x6C12, "resend"),
])
def test_protocol_words_have_their_kind(word, kind):
    assert sw.lookup(word).kind == kind


@pytest.mark.parametrize("word, error", [
    (0x6A82, sw.FileNotFound), (0x6A83, sw.FileNotFound), (0x6A86, sw.WrongParameters),
    (0x6B00, sw.WrongParameters), (0x6982, sw.SecurityNotSatisfied), (0x6983, sw.SecurityNotSatisfied),
    (0x63C2, sw.SecurityNotSatisfied), (0x6985, sw.ConditionsNotSatisfied),
    (0x6986, sw.ConditionsNotSatisfied), (0x6D00, sw.NotSupported), (0x6E00, sw.NotSupported),
    (0x6700, sw.WrongLength), (0x6F00, sw.CardFault), (0x6581, sw.CardFault),
    (0x9999, sw.StatusWordError),
])
def test_failing_words_raise_their_typed_error(word, error):
    with pytest.raises(error) as info:
        sw.check(word, "READ RECORD EF05/7")
    err = info.value
    assert type(err) is error
    assert isinstance(err, DeviceError) and isinstance(err, KioskError)
    assert err.sw == word
    assert f"{word:04X}" in err.reason and "READ RECORD EF05/7" in err.reason
    assert err.action  # a technician always gets something to do
    assert err.to_dict()["code"].startswith("smartcard.")


@pytest.mark.parametrize("word", [0x9000, 0x6282])
def test_success_words_pass(word):
    sw.check(word)
    assert sw.is_ok(word)


def test_unhandled_protocol_words_are_errors_not_success():
    # 61xx / 6Cxx must be followed by transceive; reaching check() with them is a failure.
    for word in (0x6110, 0x6C10):
        assert not sw.is_ok(word)
        with pytest.raises(sw.StatusWordError):
            sw.check(word)


def test_exact_entry_wins_over_family():
    assert sw.lookup(0x6A82).name == "FILE_NOT_FOUND"
    assert sw.lookup(0x6A99).name == "WRONG_PARAMS"
