"""`kiosk run` as a service manager starts it: every refusal to start is one clear line on stderr
and exit 2, never a traceback; a corrupt outbox is not a refusal (moved aside, the terminal runs)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.storage import corrupt_copies
from tests.disk_faults import fill, read_only_mount, tiny_fs

ROOT = Path(__file__).resolve().parents[2]
BASE = {"terminal": {"id": "ZM-RUN-0001", "region": {"city": "410100"}}, "network": {"broker": "mqtt://127.0.0.1:1"}}


def _write(tmp_path, raw: dict | None = None, text: str | None = None) -> Path:
    path = tmp_path / "kiosk.toml"
    if text is None:
        raw = json.loads(json.dumps(raw or BASE))
        raw.setdefault("runtime", {}).setdefault("state_dir", str(tmp_path / "state"))
        text = config.dump_toml(config.from_dict(raw).data)
    path.write_text(text, encoding="utf-8")
    return path


def _run(path: Path, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "run", "--headless", "--config", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def _production(tmp_path) -> dict:
    return {**BASE, "network": {"broker": "mqtt://127.0.0.1:1", "profile": "production"}}


@pytest.mark.parametrize("case, expect", [
    ("config", "terminal.region.city"),
    ("port_0", "network.broker: expected a port of 1-65535"),
    ("port_70000", "network.broker: expected a port of 1-65535"),
    ("production", "production profile refused"),
    ("state_dir", "not a directory"),
])
def test_each_refusal_is_one_line_and_exit_2(tmp_path, case, expect):
    if case == "config":
        path = _write(tmp_path, text='[terminal]\nid = "ZM-RUN-0001"\n')
    elif case.startswith("port"):
        path = _write(tmp_path, text='[terminal]\nid = "ZM-RUN-0001"\n[terminal.region]\ncity = "410100"\n'
                                     f'[network]\nbroker = "mqtt://127.0.0.1:{case[5:]}"\n')
    elif case == "production":
        path = _write(tmp_path, _production(tmp_path))
    else:
        (tmp_path / "state").write_text("a file where the state directory should be")
        path = _write(tmp_path)
    out = _run(path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith("kiosk") and expect in lines[0], lines[0]
    assert " -> " in lines[0] or case in ("config", "port_0", "port_70000")  # what to do, where it is known


def test_a_corrupt_outbox_is_moved_aside_and_the_terminal_runs(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "outbox.sqlite3").write_bytes(b"\0" * 16384)  # zeroed by a failing disk
    path = _write(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--headless", "--config", str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = []
    try:
        for line in proc.stdout:  # the JSON log, until the runtime is up
            seen.append(line)
            if "runtime started" in line:
                break
        assert any("runtime started" in line for line in seen), "".join(seen)[-3000:]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = "".join(seen) + rest
    # 0, or killed by the signal when it came before run_forever() installed its handler
    assert proc.returncode in (0, -signal.SIGTERM), text[-3000:]
    [copy] = corrupt_copies(state / "outbox.sqlite3")
    assert copy.read_bytes() == b"\0" * 16384  # kept as it was
    alarm = [line for line in text.splitlines() if "corrupt file" in line]
    assert len(alarm) == 1 and str(state / "outbox.sqlite3") in alarm[0] and copy.name in alarm[0]
    assert "Traceback" not in text


def test_the_runtimes_own_commands_look_up_no_plug_in(tmp_path, monkeypatch, capsys):
    """Looking plug-ins up reads every distribution's entry points and imports each plug-in: not on
    `kiosk run`'s way to its first frame, nor for `kiosk doctor`. A plug-in's command still finds them."""
    from kiosk import cli

    def no_lookup():
        raise AssertionError("looked plug-ins up for a built-in command")
    monkeypatch.setattr(cli, "_plugins", no_lookup)
    path = _write(tmp_path, text='[terminal]\nid = "ZM-RUN-0001"\n')  # refused: one line, exit 2
    assert cli.main(["run", "--headless", "--config", str(path)]) == 2
    assert "terminal.region.city" in capsys.readouterr().err
    with pytest.raises(AssertionError, match="looked plug-ins up"):
        cli.main(["bench", "--help"])


@pytest.mark.parametrize("fault", ["full", "read_only"])
def test_a_disk_that_stops_the_start_says_to_start_again_not_that_it_resumes(tmp_path, fault):
    """`kiosk run` exits when the disk refuses at start (a full disk where the outbox must be
    created, a state directory that cannot be written): nothing of it retries, so "the terminal
    resumes by itself" (true of a running terminal) was the wrong advice."""
    state = tmp_path / "state"
    path = _write(tmp_path)
    with tiny_fs(state, 256):
        if fault == "full":
            fill(state)
            out = _run(path)
        else:
            with read_only_mount(state):
                out = _run(path)
    assert out.returncode == 2, out.stderr
    # The JSON log may say something first (it is set up before the outbox opens): one refusal line.
    lines = [ln for ln in out.stderr.strip().splitlines() if not ln.startswith("{")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    line = lines[0]
    assert line.startswith("kiosk run: refused to start") and str(state) in line and ("free space" if fault == "full" else "writable") in line, line
    assert "start the kiosk again" in line and "resumes by itself" not in line, line
