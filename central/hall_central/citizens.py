"""How the central service keys a citizen (issue 13): who gets the register's ``citizen_ref``.

A ``citizen_ref`` is what a terminal shows appointments and applications of, and books, cancels
and checks in with. The register-linked one (the citizen's records: appointments, applications)
goes only to a lookup whose name matches the population register's entry for the number, as an
ID card or social security card gives it. Every other lookup (another name, the keypad's
placeholder ``-`` when a number is typed without a card, a person not in the register) gets a
reference keyed by the number AND the name given: it never reaches records made under another
name, while the same number typed twice on a keypad still finds its own bookings.

The ID number itself is never stored: a key is an HMAC with the database's secret
(:meth:`hall_central.store.SqlStore.id_hash`).
"""
from __future__ import annotations

import hashlib
import hmac
import unicodedata

#: How citizens are keyed (meta ``citizen_keys``): "2" is this module's scheme. A database without
#: it was keyed by the number alone for everyone: :meth:`hall_central.store.SqlStore.rekey_citizens`
#: retires its unregistered rows once, at start.
CITIZEN_KEYS = "2"


def name_key(name: str) -> str:
    """The name as it enters a key: NFKC (full-width letters as ASCII), spaces collapsed, case folded,
    so "Wang  Xiulan" and "wang xiulan" typed on two terminals are one person's name."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def citizen_hash(secret: bytes, id_number: str, name: str | None = None) -> str:
    """The key of a citizen row: HMAC-SHA256 of the ID number for the register-linked citizen
    (``name`` None), of the number, NUL and :func:`name_key` of the name given for anyone else."""
    text = id_number.upper() if name is None else f"{id_number.upper()}\0{name_key(name)}"
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()
