"""`kiosk check-layout` finds nothing: every state of the full tour in both languages and both type
sizes, on the 10.1" 1280x800 panel (the smallest, at the highest DPI: the strictest for type and
targets) and the 21.5" 1080x1920 portrait panel (the narrowest). The command itself also runs
1920x1080 (make test leaves it out: it has more room on both axes than 1280x800 at the same
proportions, and each panel costs a full tour).

Real parts: the checker starts the stack (Mosquitto, the reference central service, the device
simulators) and a real Kivy window per panel on its own Xvfb, in child processes.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
PANELS = "1280x800,1080x1920"
#: The report's count line (hall_demo.layoutcheck.report).
COUNT = re.compile(r"layout check: (\d+) screens in (\d+) states .*?; (\d+) sizes x (\d+) languages x 2 modes = "
                   r"(\d+) combinations; (\d+) screen checks")
#: Two full tours side by side with their checks; on a busy 2-core machine about 6-9 minutes.
TIMEOUT_S = 1500


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    out = tmp_path_factory.mktemp("layout")
    env = dict(os.environ)
    env.pop("DISPLAY", None)   # the checker starts its own Xvfb, large enough for the portrait panel
    # Both panels at once. This session has PCSCLITE_CSOCK_NAME set (the PC/SC tests before this
    # one): the children once inherited it, bound one socket path in turn, and one of them read
    # its smart card through the other's pcscd (its identify step timed out, or the other's card
    # showed up mid-flow). layoutcheck.child_env drops it; each child has its own stack.
    # --shots: the review screenshots (hall_demo.reviewshots, as `make demo` leaves them) come from
    # this run too, not from another full tour.
    proc = subprocess.run([sys.executable, "-m", "kiosk", "check-layout", "--sizes", PANELS, "--jobs", "2",
                           "--out", str(out), "--shots"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    results = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return proc, results, out


@pytest.mark.timeout(TIMEOUT_S + 60)
def test_every_state_was_checked_at_each_panel(checked):
    proc, results, _ = checked
    assert set(results) == set(PANELS.split(","))
    for name, r in results.items():
        assert r["ok"], f"{name}: {r['error']}\n{proc.stdout[-3000:]}"
        langs = {s["lang"] for s in r["states"]}
        assert langs == {"zh_CN", "en"}, name
        # the screens the tour reaches, each checked (a missed screen would pass silently)
        screens = {s["screen"] for s in r["states"]}
        for s in ("home", "identify", "checkin", "ticket", "guide", "guide_item", "consult", "progress", "feedback",
                  "walkin", "book", "book_day", "book_slot", "book_confirm", "book_done", "message", "maintenance"):
            assert s in screens, (name, s)
    # the count printed: screens x states x combinations (2 sizes x 2 languages x 2 modes) and the
    # screen checks, each matching what was checked
    m = COUNT.search(proc.stdout)
    assert m, proc.stdout[-3000:]
    screens, states, sizes, langs, combos, checks = (int(g) for g in m.groups())
    assert screens == len({s["screen"] for r in results.values() for s in r["states"]}) >= 17
    assert states == len({(s["lang"], s["step"], s["screen"]) for r in results.values() for s in r["states"]})
    assert (sizes, langs, combos) == (2, 2, 8)
    assert checks == 2 * sum(len(r["states"]) for r in results.values()) > 0


#: The rule about language, judged apart from the layout rules: a failure says which half broke.
LANGUAGE_RULES = {"cjk-on-english"}


#: The review folders: each language in each type size (hall_demo.reviewshots).
FOLDERS = ("zh_CN-standard", "zh_CN-elder", "en-standard", "en-elder")
SHOT_NAME = re.compile(r"\d{2}-[a-z0-9_]+-[a-z0-9_-]+\.png")


@pytest.mark.timeout(TIMEOUT_S + 60)
@pytest.mark.parametrize("size", PANELS.split(","))
def test_every_state_in_each_language_and_type_size_with_an_index_of_them(checked, size):
    """Every screen state of the tour in the four folders, the same states in each, real pictures
    of the panel's size, and an index page showing each one (what `make demo` leaves in
    demo-out/screens, made by the same probe and module)."""
    from tests.kiosk.screens.conftest import assert_real_png
    _, results, out = checked
    assert results[size]["ok"], results[size]["error"]
    root = out / size / "shots"
    names = {f: sorted(p.name for p in (root / f).iterdir()) for f in FOLDERS}
    assert sorted(p.name for p in root.iterdir()) == sorted((*FOLDERS, "index.html"))
    first = names[FOLDERS[0]]
    assert all(names[f] == first for f in FOLDERS), {f: set(n) ^ set(first) for f, n in names.items()}
    assert [int(n[:2]) for n in first] == list(range(1, len(first) + 1))
    assert all(SHOT_NAME.fullmatch(n) for n in first), first
    # every screen the tour reaches, and the ones a person reviews in large type too
    screens = {s["screen"] for s in results[size]["states"]}
    assert {n.split("-")[1] for n in first} == screens
    assert len(first) >= 60
    width, height = (int(v) for v in size.split("x"))
    for f in FOLDERS:
        for n in first[::7] + first[-1:]:   # a sample: every picture costs a decode
            assert_real_png(str(root / f / n), (width, height))
    page = (root / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr><th class="state">([^<]+)</th>(.*?)</tr>', page)
    assert [r[0] + ".png" for r in rows] == first
    for state, cells in rows:
        assert re.findall(r'<img src="([^"]+)"', cells) == [f"{f}/{state}.png" for f in FOLDERS]
    # the elder folder really is larger type: not the standard picture again
    assert all((root / "zh_CN-elder" / n).read_bytes() != (root / "zh_CN-standard" / n).read_bytes() for n in first)


@pytest.mark.timeout(TIMEOUT_S + 60)
def test_no_layout_findings(checked):
    proc, results, _ = checked
    findings = [f for r in results.values() for f in r["findings"] if f["rule"] not in LANGUAGE_RULES]
    assert findings == [], proc.stdout[-8000:]


@pytest.mark.timeout(TIMEOUT_S + 60)
def test_no_chinese_on_english_screens(checked):
    proc, results, _ = checked
    findings = [f for r in results.values() for f in r["findings"] if f["rule"] in LANGUAGE_RULES]
    assert findings == [], proc.stdout[-8000:]


@pytest.mark.timeout(TIMEOUT_S + 60)
def test_the_report_says_no_findings_and_the_exit_status_agrees(checked):
    proc, _, _ = checked
    assert proc.stdout.rstrip().endswith("no findings"), proc.stdout[-3000:]
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_panel_children_pick_their_own_pcsc_socket(monkeypatch):
    """A caller that ran a PC/SC stack (a pytest session) has PCSCLITE_CSOCK_NAME set: the panel
    children must not inherit it, or two at once share one socket path and one of them reads its
    smart card through the other's pcscd (its identify step then times out)."""
    from firmware_bridge.pcsc.stack import SOCKET_ENV
    from hall_demo.layoutcheck import child_env
    monkeypatch.setenv(SOCKET_ENV, "/tmp/kiosk-pcsc-caller/pcscd.comm")
    monkeypatch.setenv("KIVY_DPI", "96")
    env = child_env(":99")
    assert SOCKET_ENV not in env and "KIVY_DPI" not in env and env["DISPLAY"] == ":99"
