"""Spoken prompts for elder mode: espeak-ng in a subprocess, never blocking the UI.

Only where espeak-ng is installed (``cmn`` voice for Chinese, ``en`` for English) and
``ui.speech`` is on. A new prompt interrupts the one still speaking, so prompts never queue up
behind each other while a citizen moves quickly through screens. Every child is reaped as soon as
it exits (a daemon thread waits for it): a finished prompt never lingers as a zombie process.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import threading

log = logging.getLogger("kiosk.screens.speech")

#: espeak-ng voices by UI language.
VOICES = {"zh_CN": "cmn", "en": "en"}
#: Words per minute: slower than espeak's default 175 for elderly listeners.
RATE_WPM = 140


class Speaker:
    """Speaks one prompt at a time in a child process."""

    def __init__(self, enabled: bool = True, exe: str | None = None) -> None:
        self.exe = exe or shutil.which("espeak-ng")
        self.enabled = enabled and self.exe is not None
        self._proc: subprocess.Popen | None = None
        self.spoken: list[str] = []   # the prompts (never citizen data), for tests and the log

    def say(self, text: str, lang: str = "zh_CN") -> bool:
        """Start speaking ``text``; returns False when speech is off or unavailable."""
        if not self.enabled or not text or self.exe is None:
            return False
        self.stop()
        try:
            self._proc = subprocess.Popen([self.exe, "-v", VOICES.get(lang, "cmn"), "-s", str(RATE_WPM), text],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        except OSError as e:  # no audio device or a broken install: the screen still works
            log.warning("speech unavailable", extra={"error": str(e)})
            self.enabled = False
            return False
        # Why a thread: nobody else waits for a prompt that ends by itself, and an unwaited child
        # stays a zombie until the next prompt (in elder mode, for the whole session).
        threading.Thread(target=self._proc.wait, name="kiosk-speech-reaper", daemon=True).start()
        self.spoken.append(text)
        return True

    def stop(self) -> None:
        """Interrupt the prompt being spoken (and reap the process)."""
        p, self._proc = self._proc, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(2)
