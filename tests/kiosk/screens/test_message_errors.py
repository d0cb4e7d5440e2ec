"""What the message screen tells a citizen about an error: the terminal's own disk refusing a
request is explained plainly, in both languages (no Kivy window needed for the texts)."""
from __future__ import annotations

from kiosk.network.errors import Rejected
from kiosk.screens.i18n import Translator
from kiosk.screens.message import DEFAULT_ERROR, ERRORS, error_key
from kiosk.storage import StorageError


def test_a_disk_fault_is_told_plainly_in_both_languages():
    err = StorageError("full", "/var/lib/hall-kiosk/outbox.sqlite3", "database or disk is full")
    title, body = ERRORS[error_key(err)]
    tr = Translator()
    assert tr.tr(title, "en") == "This terminal cannot save your request"
    assert "ask at a window" in tr.tr(body, "en")
    assert tr.tr(title, "zh_CN") == "本机暂时无法保存您的业务" and "窗口" in tr.tr(body, "zh_CN")
    assert "outbox.sqlite3" not in tr.tr(body, "zh_CN") + tr.tr(body, "en")  # no technical detail


def test_an_appointment_not_found_is_about_the_booking_slip_not_a_typed_number():
    """The central service answers not_found for an appointment that is unknown or not this
    citizen's (issue 13: one answer, so ids cannot be probed); a check-in by a slip's QR code
    typed no number, so "check the number" would not help."""
    tr = Translator()
    for op in ("checkin", "appointment.cancel"):
        title, body = ERRORS.get(error_key(Rejected("not_found", "no such appointment of this citizen", op)),
                                 DEFAULT_ERROR)
        assert tr.tr(title, "en") == "Appointment not found" and "booking slip" in tr.tr(body, "en"), op
        assert tr.tr(title, "zh_CN") == "未找到该预约" and "预约凭条" in tr.tr(body, "zh_CN"), op
    title, _ = ERRORS[error_key(Rejected("not_found", "no such application", "application.get"))]
    assert tr.tr(title, "en") == "Not found"


def test_every_error_code_of_the_contract_has_a_citizen_text_in_both_languages():
    """Before: forbidden, not_finished and internal fell to "Something went wrong"; every code a
    terminal can receive now says what happened and what to do, in Chinese and English."""
    from kiosk.network import schemas
    tr = Translator()
    for code in schemas.schema_files()["common.json"]["$defs"]["error"]["properties"]["code"]["enum"]:
        key = error_key(Rejected(code, "x", "ticket.walkin" if code == "forbidden" else ""))
        assert key in ERRORS, code
        for text in ERRORS[key] + ERRORS["rejected." + code]:
            zh = tr.tr(text, "zh_CN")
            assert tr.tr(text, "en") == text and zh != text and not zh.isascii(), (code, text)


def test_a_rating_refused_and_a_priority_walkin_refused_are_told_for_what_they_are():
    tr = Translator()
    title, body = ERRORS[error_key(Rejected("not_found", "no such application of this citizen", "feedback.submit"))]
    assert tr.tr(title, "en") == "Application not found" and "receipt" in tr.tr(body, "en")
    assert "回执" in tr.tr(body, "zh_CN")
    title, body = ERRORS[error_key(Rejected("forbidden", "a priority line", "ticket.walkin"))]
    assert "older" in tr.tr(title, "en") and "老年人" in tr.tr(title, "zh_CN")
