"""What the random explorer put into the world (the simulators do not say), and what the central
service holds of it: the explorer's own bookkeeping, beside its actions (hall_demo.explore_actions)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class World:
    """What the explorer put into the world (the simulators do not say)."""

    card: int | None = None          # demo citizen whose ID card lies on the reader
    smartcard: int | None = None     # demo citizen whose social security card is in the reader
    paper_out: bool = False
    online: bool = True
    retries: list = field(default_factory=list)   # probes that failed: retried once online



def keypad_bookings(db: Path, id_number: str) -> set[tuple[str, str]]:
    """(item_code, date) of the bookings made with ``id_number`` typed on the keypad, in the central
    database at ``db`` (the keypad's citizen: that number and the placeholder name, never the card
    holder's: hall_central.citizens)."""
    from hall_central.citizens import citizen_hash
    from kiosk.services.checkin import KEYPAD_NAME
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute("SELECT value FROM meta WHERE key='id_secret'").fetchone()
        if row is None:
            return set()
        h = citizen_hash(bytes.fromhex(row[0]), id_number, KEYPAD_NAME)
        rows = con.execute("SELECT a.item_code, a.date FROM appointments a JOIN citizens c "
                           "ON a.citizen_ref = c.citizen_ref WHERE c.id_hash = ? AND a.status != 'cancelled'",
                           (h,)).fetchall()
        return {(r[0], r[1]) for r in rows}
    finally:
        con.close()
