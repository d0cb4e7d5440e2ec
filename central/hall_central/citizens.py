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


def blank(name: str) -> bool:
    """True for a name with no character but spaces (ASCII, full-width U+3000, any ``str.isspace``
    one): the contract's ``citizen_name`` refuses it (its pattern lists exactly these characters),
    and the central service answers it invalid even when a caller skipped the schema. Before,
    ``"   "`` and ``"\u3000\t"`` passed and all got one reference, keyed by the number and no name."""
    return not name_key(name)


def is_registers(register_name: str, given: str) -> bool:
    """Whether ``given`` is the register's name for the number: the same characters once the spaces
    before and after are gone. Why padding is accepted rather than refused: an ID card's name field
    is fixed-width, padded with spaces (ASCII or full-width, as readers decode it), so a reader that
    leaves some padding on still proves the same person; the unregistered key (:func:`name_key`)
    trims the same way, so a padded name and the trimmed one are one citizen on either path."""
    return register_name == given.strip()


def citizen_hash(secret: bytes, id_number: str, name: str | None = None) -> str:
    """The key of a citizen row: HMAC-SHA256 of the ID number for the register-linked citizen
    (``name`` None), of the number, NUL and :func:`name_key` of the name given for anyone else."""
    text = id_number.upper() if name is None else f"{id_number.upper()}\0{name_key(name)}"
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()
