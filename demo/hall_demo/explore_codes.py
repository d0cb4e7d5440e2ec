"""Codes the explorer holds up to the scanner: valid, forged, foreign, expired and garbage.

Valid ones are what citizens really carry: the check-in code of a booking slip (signed with the
demo central service's own code key for an appointment in its database, exactly as it signs a
slip), the receipt code of a seeded application, or the application number as plain text. Forged
ones are valid codes with one byte of signature or payload changed; foreign ones are genuinely
signed for another hall or city, or signed by a key the terminal does not know; garbage is random
text, control characters, over-long lines, URLs and lookalikes of the real formats.
"""
from __future__ import annotations

import datetime as dt
import random
import sqlite3
import string
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

#: Another hall of the same county, and a city this terminal does not serve (GB/T 2260 codes).
FOREIGN_HALL = "H410122999"
FOREIGN_CITY = "410200"
#: Code kinds and how often each is chosen.
KINDS = (("valid", 4), ("forged", 2), ("foreign", 2), ("expired", 1), ("garbage", 3))


class Codes:
    """Makes code texts for one demo stack (``run_dir`` holds its central database and keys)."""

    def __init__(self, sim, run_dir: Path, hall_code: str, tz: str) -> None:
        from hall_central.keys import CentralKeys
        self.sim = sim
        self.run_dir = Path(run_dir)
        self.hall_code = hall_code
        self.tz = ZoneInfo(tz)
        self.keys = CentralKeys(self.run_dir / "central-keys")

    def make(self, rng: random.Random) -> tuple[str, str]:
        """(kind, text) of a code chosen with ``rng``; kind says what the terminal must do with it."""
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        return kind, getattr(self, kind)(rng)

    # -- valid -------------------------------------------------------------------------------
    def valid(self, rng: random.Random) -> str:
        """A booking slip's check-in code, a receipt code or an application number."""
        appts = self._appointments()
        choice = rng.randrange(3)
        if choice == 0 and appts:
            return self._checkin_code(rng.choice(appts))
        k = rng.randrange(4)
        if choice == 1:
            return self._receipt(k)
        return self.sim.application_no(k)

    def _appointments(self) -> list[dict]:
        """The appointments of this hall in the central service's database (read-only)."""
        db = self.run_dir / "central.db"
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            con.row_factory = sqlite3.Row
            rows = con.execute('SELECT appointment_id, date, "end", hall FROM appointments WHERE hall = ? '
                               "ORDER BY appointment_id", (self.hall_code,)).fetchall()
            return [dict(r) for r in rows]
        finally:
            con.close()

    def _checkin_code(self, a: dict, *, aud: str | None = None, exp_shift_s: int = 0) -> str:
        """The slip code of appointment ``a`` as hall_central.domain signs it."""
        from hall_central.domain import CHECKIN_LATE_MIN
        from kiosk.trust import codes
        h, m = (int(x) for x in a["end"].split(":"))
        closes = dt.datetime.combine(dt.date.fromisoformat(a["date"]), dt.time(h, m), self.tz) \
            + dt.timedelta(minutes=CHECKIN_LATE_MIN)
        now = int(self.sim.central_now().timestamp())
        return self.keys.sign_code({"apt": a["appointment_id"]}, aud=aud or a["hall"],
                                   exp_s=int(closes.timestamp()) + exp_shift_s, now_s=now, typ=codes.CHECKIN)

    def _receipt(self, k: int, *, aud: str | None = None, exp_s: int | None = None) -> str:
        """A receipt code of seeded application ``k`` (its city, a year past its deadline)."""
        from kiosk.trust import codes
        no = self.sim.application_no(k)
        now = int(self.sim.central_now().timestamp())
        return self.keys.sign_code({"app": no}, aud=aud or no[10:14] + "00", typ=codes.RECEIPT,
                                   exp_s=exp_s if exp_s is not None else now + 400 * 86400, now_s=now - 3600)

    # -- refused ones -----------------------------------------------------------------------
    def forged(self, rng: random.Random) -> str:
        """A valid code with one byte of its signature or payload changed (re-encoded cleanly)."""
        from kiosk.trust.payload import TOKEN_PREFIX, b45decode, b45encode
        text = self._checkin_or_receipt(rng)
        raw = b45decode(text[len(TOKEN_PREFIX):])
        assert raw is not None  # a code the central service signed
        blob = bytearray(zlib.decompress(raw))
        i = rng.randrange(len(blob))
        blob[i] ^= 1 << rng.randrange(8)
        return TOKEN_PREFIX + b45encode(zlib.compress(bytes(blob), 9))

    def foreign(self, rng: random.Random) -> str:
        """Genuinely signed for another hall or city, or signed by a key this terminal never saw."""
        which = rng.randrange(3)
        appts = self._appointments()
        if which == 0 and appts:
            return self._checkin_code(rng.choice(appts), aud=FOREIGN_HALL)
        if which == 1:
            return self._receipt(rng.randrange(4), aud=FOREIGN_CITY)
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from kiosk.trust import codes
        now = int(self.sim.central_now().timestamp())
        stranger = Ed25519PrivateKey.from_private_bytes(bytes(rng.getrandbits(8) for _ in range(32)))
        return codes.encode(stranger, self.keys.meta["code_kid"], {"app": self.sim.application_no(0)},
                            aud=self.sim.application_no(0)[10:14] + "00", iat=now - 60, exp=now + 86400,
                            typ=codes.RECEIPT)

    def expired(self, rng: random.Random) -> str:
        """A genuine code whose validity ended (a receipt a year gone, a slip of a past day)."""
        appts = self._appointments()
        now = int(self.sim.central_now().timestamp())
        if appts and rng.random() < 0.5:
            return self._checkin_code(rng.choice(appts), exp_shift_s=-(400 * 86400))
        return self._receipt(rng.randrange(4), exp_s=now - 86400)

    def _checkin_or_receipt(self, rng: random.Random) -> str:
        appts = self._appointments()
        if appts and rng.random() < 0.5:
            return self._checkin_code(rng.choice(appts))
        return self._receipt(rng.randrange(4))

    @staticmethod
    def garbage(rng: random.Random) -> str:
        """Random text, control characters, over-long lines, URLs, lookalikes of real formats."""
        which = rng.randrange(8)
        if which == 0:
            return "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 80)))
        if which == 1:
            return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randint(1, 40)))
        if which == 2:
            return "A" * rng.choice((300, 1100, 4200))
        if which == 3:
            return "KQ1:" + "".join(rng.choice(string.ascii_uppercase + string.digits + " $%*+-./:")
                                    for _ in range(rng.randint(1, 200)))
        if which == 4:
            return rng.choice(("http://", "https://", "javascript:", "file:///")) + "example.invalid/" + \
                "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(0, 30)))
        if which == 5:
            return "SQ" + "".join(rng.choice(string.digits) for _ in range(rng.choice((3, 14, 16, 18, 25))))
        if which == 6:
            return "".join(rng.choice(string.digits) for _ in range(17)) + rng.choice("0123456789X")
        return rng.choice(("KIOSK1:APPT:", "KIOSK1:APPT:A-1' OR 1=1 --", "\x1b[2J", "{}", "[]", "null",
                           "%s%s%s%n", "\u202e\u0644\u0627"))
