"""Structured logging: one JSON object per line on stderr, with citizens' data redacted first.

The redaction filter sits on the handler, so nothing reaches any output before it runs:
- every resident ID number and mobile number pattern in the message and its arguments is masked;
- names and addresses cannot be recognised by a pattern, so the session that holds a citizen
  registers them with :data:`SENSITIVE` while it lives (and forgets them when it ends); every
  registered value is replaced by its masked form.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from hall_common import privacy


class SensitiveValues:
    """The citizen values of the live session(s) that logs must never show, with their masks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def add(self, value: str, masker: Callable[[str], str]) -> None:
        """Register one value (a name, an address) for the life of a session."""
        if value and len(value.strip()) >= 2:
            with self._lock:
                self._values[value.strip()] = masker(value.strip())

    def discard(self, value: str) -> None:
        """Forget one value (the session ended)."""
        with self._lock:
            self._values.pop((value or "").strip(), None)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()

    def redact(self, text: str) -> str:
        """Mask patterns (ID, phone) and every registered value in ``text``."""
        text = privacy.redact_text(text)
        with self._lock:
            items = sorted(self._values.items(), key=lambda kv: -len(kv[0]))
        for value, masked in items:
            if value in text:
                text = text.replace(value, masked)
        return text


#: Process-wide registry used by the log filter.
SENSITIVE = SensitiveValues()

_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RedactionFilter(logging.Filter):
    """Rewrites the record's message and extra fields with citizens' data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            msg = f"{record.msg!r} {record.args!r}"
        record.msg = SENSITIVE.redact(msg)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS and isinstance(value, str):
                setattr(record, key, SENSITIVE.redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = SENSITIVE.redact(record.exc_text)
        record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception text."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def make_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler that redacts then writes JSON lines (to stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter())
    return handler


def setup(level: str = "info", stream: TextIO | None = None) -> None:
    """Install the JSON + redaction handler as the only root handler."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(make_handler(stream))
    root.setLevel(level.upper())
    # Kivy installs its own handlers; keep its noise out of our stream unless debugging.
    logging.getLogger("kivy").setLevel(max(logging.WARNING, root.level))
