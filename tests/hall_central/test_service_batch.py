"""CentralService._apply_batch (one module, a real SQLite store): a message that fails INSIDE the
batch's transaction is taken out and the rest retried without it; every other message is answered."""
from __future__ import annotations

import json
import sqlite3

import pytest

from hall_central import intake
from hall_central.domain import Domain
from hall_central.service import CentralService
from hall_central.stores import open_store
from kiosk.network import envelope, topics


@pytest.fixture
def svc(tmp_path, clock):
    s = CentralService("mqtt://127.0.0.1:1", str(tmp_path / "central.db"), clock=clock)
    s.store = open_store(s.db_url)
    s.domain = Domain(s.store, clock)
    with s.store.transaction():
        s.domain.ensure_seeded()
    yield s
    s.store.close()


def _walkins(n: int) -> list[intake.Accepted | intake.Refused | None]:
    out = []
    for k in range(n):
        env = envelope.request(f"ZM-T{k:04d}", "ticket.walkin", {"line": "A"}, idem=envelope.new_id())
        out.append(intake.judge(topics.req(env.terminal, env.op), env.to_bytes()))
    return out


@pytest.mark.parametrize("error", [RecursionError("deep"), ValueError("odd"), sqlite3.OperationalError("disk I/O")])
def test_a_message_failing_inside_the_batch_costs_only_itself(svc, error):
    work = _walkins(6)
    culprit = work[2]
    apply = svc._apply

    def failing(m):
        if m is culprit:
            raise error
        return apply(m)
    svc._apply = failing
    out = svc._apply_batch(work)
    answers = {json.loads(p)["terminal"]: json.loads(p)["body"] for _, p in out}
    assert set(answers) == {m.terminal for m in work}
    assert answers[culprit.terminal] == {"ok": False, "error": {"code": "internal", "message": "internal error"}}
    numbers = sorted(b["result"]["queue_no"] for t, b in answers.items() if t != culprit.terminal)
    assert numbers == ["A001", "A002", "A003", "A004", "A005"]  # the failed attempt left nothing behind
    assert svc.stats["refusals"] == {"failed_in_batch": 1} and svc.stats["batches"] == 1
