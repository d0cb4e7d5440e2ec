"""What the message screen tells a citizen about an error: the terminal's own disk refusing a
request is explained plainly, in both languages (no Kivy window needed for the texts)."""
from __future__ import annotations

from kiosk.screens.i18n import Translator
from kiosk.screens.message import ERRORS, error_key
from kiosk.storage import StorageError


def test_a_disk_fault_is_told_plainly_in_both_languages():
    err = StorageError("full", "/var/lib/hall-kiosk/outbox.sqlite3", "database or disk is full")
    title, body = ERRORS[error_key(err)]
    tr = Translator()
    assert tr.tr(title, "en") == "This terminal cannot save your request"
    assert "ask at a window" in tr.tr(body, "en")
    assert tr.tr(title, "zh_CN") == "本机暂时无法保存您的业务" and "窗口" in tr.tr(body, "zh_CN")
    assert "outbox.sqlite3" not in tr.tr(body, "zh_CN") + tr.tr(body, "en")  # no technical detail
