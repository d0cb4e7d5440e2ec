"""Issue 4's hardest promise: the runtime killed with SIGKILL at random points during 200
check-ins, with the broker down for about half of them — every confirmed check-in is applied
exactly once at the central side (counted in the central service's own database)."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hall_central import seed
from hall_central.service import CentralService
from kiosk.events import EventBus
from kiosk.network.gateway import Gateway
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("checkin_worker.py")
N = 200
#: Why 600 s: 200 check-ins over tens of lives, each starting a Python interpreter that imports the
#: runtime (1-3 s at load 15-20 on this 2-core machine); on a quiet one the test takes about 30 s.
DRAIN_S = 600


def _appointments(broker_url: str, state_dir: Path) -> dict[str, str]:
    """Today's appointment of N synthetic citizens, looked up online beforehand: id -> citizen_ref
    (a check-in carries its citizen's reference, central/hall_central/domain.py)."""
    gw = Gateway("ZM-KILL-SETUP", broker_url, ["410100"], str(state_dir), EventBus())
    gw.start()
    try:
        wait_for(lambda: gw.online, 15, "the setup gateway to connect")
        out = {}
        for i in range(N):
            c = seed.synthetic_citizen(500_000 + i)
            ref = gw.request("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]
            appts = gw.request("appointments.list", {"citizen_ref": ref})["appointments"]
            out[next(a["appointment_id"] for a in appts if a["status"] == "booked")] = ref
        return out
    finally:
        gw.stop()


def _confirmed(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.timeout(DRAIN_S + 120)
def test_kill9_at_random_points_with_broker_down_half_the_time(tmp_path, broker):
    central = CentralService(broker.url, str(tmp_path / "central.db")).start()
    try:
        appts = _appointments(broker.url, tmp_path / "setup")
        (tmp_path / "appts.json").write_text(json.dumps(appts))
        log = tmp_path / "confirmed.log"
        state = tmp_path / "terminal"
        rnd = random.Random(20261124)
        kills = 0
        broker_down_at, broker_up_at = rnd.randint(40, 70), rnd.randint(140, 170)
        broker_is_down = False

        def spawn():
            return subprocess.Popen([sys.executable, str(WORKER), broker.url, str(state),
                                     str(tmp_path / "appts.json"), str(log)],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

        proc, n_at_spawn = spawn(), 0
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline:
            n = len(_confirmed(log))
            if not broker_is_down and broker_down_at <= n < broker_up_at:
                broker.stop()
                broker_is_down = True
            elif broker_is_down and n >= broker_up_at:
                broker.start()
                broker_is_down = False
            # Killed only once this life has confirmed something: a kill before that lands in the
            # interpreter's start-up, and on a loaded machine (start-up > 1 s, kills every ~0.4 s) no
            # life ever reached the gateway: 0 confirmed in 240 s, the one failure of a fresh-clone
            # run at load 17. The kill still falls at a random point of the work: mid-put, mid-send,
            # mid-ack.
            if n_at_spawn < n < N and proc.poll() is None and rnd.random() < 0.25:
                time.sleep(rnd.uniform(0.0, 0.3))
                proc.send_signal(signal.SIGKILL)  # at a random point: mid-put, mid-send, mid-ack
                proc.wait()
                kills += 1
                proc, n_at_spawn = spawn(), len(_confirmed(log))
                continue
            if proc.poll() is not None:  # finished (DRAINED) or died on its own: look at why
                out = proc.stdout.read()
                if "DRAINED" in out:
                    break
                proc, n_at_spawn = spawn(), len(_confirmed(log))
            time.sleep(0.1)
        else:
            pytest.fail(f"the terminal did not drain in time ({len(_confirmed(log))} confirmed)")
        if broker_is_down:
            broker.start()
        confirmed = _confirmed(log)
        assert sorted(set(confirmed)) == sorted(appts), "every appointment was confirmed once"
        assert kills >= 3, "the test must actually kill the terminal several times"
        counts = {a: central.store.count_checkins(a) for a in appts}
        assert [a for a, c in counts.items() if c != 1] == [], "each confirmed check-in applied exactly once"
        assert central.store.applied_checkins() == N
    finally:
        central.stop()
