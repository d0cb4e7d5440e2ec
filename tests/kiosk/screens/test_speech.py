"""Elder mode's spoken prompts: espeak-ng (installed by `make setup`) in a child process with the
Mandarin voice, a new prompt interrupting the one still speaking, and a no-op when switched off."""
from __future__ import annotations

import shutil
import subprocess

from kiosk.screens.speech import RATE_WPM, Speaker


def test_prompts_are_spoken_by_espeak_ng_in_mandarin(tmp_path):
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is missing: run `make setup`"
    # The voice exists and renders Chinese (to a file: a test machine has no sound card).
    wav = tmp_path / "prompt.wav"
    subprocess.run([exe, "-v", "cmn", "-s", str(RATE_WPM), "-w", str(wav), "请把身份证放在读卡区"], check=True)
    assert wav.stat().st_size > 10_000

    speaker = Speaker(enabled=True)
    assert speaker.say("请把身份证放在读卡区", "zh_CN")
    first = speaker._proc
    assert first.args[:3] == [exe, "-v", "cmn"]
    assert speaker.say("Place your ID card on the reader", "en")  # interrupts the first prompt
    assert first.poll() is not None and speaker._proc.args[2] == "en"
    speaker.stop()
    assert speaker._proc is None
    assert speaker.spoken == ["请把身份证放在读卡区", "Place your ID card on the reader"]


def test_switched_off_says_nothing():
    speaker = Speaker(enabled=False)
    assert not speaker.say("请把身份证放在读卡区") and speaker.spoken == []


def test_a_finished_prompt_leaves_no_zombie_process():
    """A prompt that ends by itself is reaped at once: no espeak-ng zombie stays behind until the
    next prompt (in elder mode that was the whole session). Checked through /proc (psutil), never
    by polling the child, which would reap it and hide the fault."""
    import psutil

    from tests.waiting import wait_for
    speaker = Speaker(enabled=True)
    assert speaker.say("好", "zh_CN")
    pid = speaker._proc.pid
    wait_for(lambda: not psutil.pid_exists(pid), 60, "the finished prompt's process to be reaped")
    zombies = [c.pid for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]
    assert zombies == []
    assert speaker.spoken == ["好"]
