"""The service killed (SIGKILL) mid-traffic and restarted: the terminals replay what was not
answered, with the same ids and idempotency keys, and nothing is applied twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from hall_central import seed
from hall_central.store import Store
from kiosk.network import envelope

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _start(broker_url, db):
    p = subprocess.Popen([sys.executable, "-m", "hall_central", "--broker", broker_url, "--db", db,
                          "--log-level", "warning"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    assert '"ready": true' in p.stdout.readline()  # the service prints its ready line after SUBACK
    return p


def test_kill_mid_traffic_and_restart_applies_nothing_twice(broker, tmp_path, client):
    db = str(tmp_path / "central.db")
    proc = _start(broker.url, db)
    try:
        appts, refs = [], {}
        for i in range(60):
            c = seed.synthetic_citizen(i)
            ref = client.ok("citizen.lookup", {"id_number": c["id_number"], "name": c["name"]})["citizen_ref"]
            appts.append(client.ok("appointments.list", {"citizen_ref": ref})["appointments"][0]["appointment_id"])
            refs[appts[-1]] = ref
        # a burst of durable check-ins; kill the service as soon as the first answers come back
        sent = [envelope.request(client.terminals[0], "checkin", {"appointment_id": a, "citizen_ref": refs[a]},
                                 idem=envelope.new_id())
                for a in appts]
        for env in sent:
            client.send("checkin", env.body, env=env)
        client.wait(sent[0].id)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc = _start(broker.url, db)
        # the outbox replays every request (answered or not: a terminal may have lost the answer)
        for env in sent:
            client.send("checkin", env.body, env=env)
        bodies = [client.wait(env.id) for env in sent]
        assert all(b["ok"] for b in bodies), [b for b in bodies if not b["ok"]][:3]
        numbers = [b["result"]["queue_no"] for b in bodies]
        assert len(set(numbers)) == len(numbers)
        s = Store(db)
        try:
            assert all(s.count_checkins(a) == 1 for a in appts)
            assert s.applied_checkins() == len(appts)
        finally:
            s.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
