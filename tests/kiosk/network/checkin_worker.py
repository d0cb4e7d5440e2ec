"""A terminal process for the kill -9 test: submits check-ins through the real Gateway and outbox.

Run as ``python checkin_worker.py BROKER STATE_DIR APPOINTMENTS_JSON CONFIRMED_LOG`` (the JSON maps each
appointment id to its citizen_ref, the proof a check-in carries). For each
appointment not yet in CONFIRMED_LOG it calls ``gateway.submit("checkin", ...)`` — which returns
once the row is durable in the outbox — and only then appends the id to the log (that is what
"confirmed to the citizen" means). When all are confirmed it waits for the outbox to drain and
prints DRAINED. The test kills it with SIGKILL at random points and starts it again.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time


def main() -> None:
    broker, state_dir, appts_file, log_file = sys.argv[1:5]
    sys.path.insert(0, os.getcwd())
    from kiosk.events import EventBus
    from kiosk.network.gateway import Gateway

    gw = Gateway("ZM-KILL-0001", broker, ["410100"], state_dir, EventBus(),
                 reconnect_min_s=0.05, reconnect_max_s=0.5, request_timeout_s=2.0)
    gw.start()
    appts = json.load(open(appts_file))
    done = set(open(log_file).read().split()) if os.path.exists(log_file) else set()
    rnd = random.Random()
    with open(log_file, "a") as log:
        for appointment_id in appts:
            if appointment_id in done:
                continue
            gw.submit("checkin", {"appointment_id": appointment_id, "citizen_ref": appts[appointment_id]})
            log.write(appointment_id + "\n")
            log.flush()
            os.fsync(log.fileno())
            time.sleep(rnd.uniform(0, 0.01))  # a citizen at a time, not a tight loop
    print("CONFIRMED-ALL", flush=True)
    while gw.outbox_depth() > 0:
        time.sleep(0.05)
    print("DRAINED", flush=True)
    gw.stop()


if __name__ == "__main__":
    main()
