"""The central side of the mobile terminal's operations: ``upload.chunk`` and ``application.submit``.

A mixin of :class:`hall_central.domain.Domain` (its ``handle`` finds ``op_upload_chunk`` and
``op_application_submit`` by name); every method runs inside the caller's transaction.

Chunks are stored as they come (a replay of one is harmless); when the last one is there the
upload is assembled, its SHA-256 checked against the one every chunk carries, kept, and the chunks
dropped. A door-to-door application is registered like a hall application (the citizen keyed by
the HMAC of the ID number, or of the number and the name when the register's name differs:
:mod:`hall_central.citizens`; only the masked name kept), with who took it (staff id), the consent,
and its materials pointing at their uploads. The ID number itself is never stored.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

from hall_central import citizens, idcard, seed
from hall_central.clock import iso_utc
from hall_central.rules import OpError

if TYPE_CHECKING:
    from hall_central.clock import Clock
    from hall_central.store import SqlStore

#: Why 48 KiB: a chunk plus its envelope stays under 70 KB on the wire, small enough to get through
#: a 2G uplink between drops, large enough that a 300 KB photo is 7 chunks. The terminal decides
#: its chunk size; the central service only enforces this ceiling (the schema's 64 KiB of Base64).
MAX_CHUNK_BYTES = 48 * 1024
#: Application numbers of door-to-door applications start here each day (hall ones start at 1).
MOBILE_SEQ_BASE = 5000


class MobileOps:
    """``upload.chunk`` and ``application.submit`` for :class:`Domain` (needs store, clock, OpError)."""

    if TYPE_CHECKING:  # what hall_central.domain.Domain, which mixes this class in, provides
        store: SqlStore
        clock: Clock

        def _register(self, card: dict[str, Any], kind: str, idx: int | None) -> str: ...
        def _add_application(self, no: str, ref: str, code: str, region: str, today: dt.date, level_idx: int,
                             days_ago: int, now: dt.datetime, demo_plan: str | None = None) -> None: ...
        def receipt_code(self, a: dict[str, Any]) -> str: ...

    def op_upload_chunk(self, terminal: str, body: dict) -> dict:
        """upload.chunk: keep a chunk; assemble and verify the upload once every chunk is there."""
        uid, idx, total = body["upload_id"], body["index"], body["total"]
        if idx >= total:
            raise OpError("invalid", f"chunk {idx} of an upload of {total} chunks")
        try:
            data = base64.b64decode(body["data_b64"], validate=True)
        except (binascii.Error, ValueError):
            raise OpError("invalid", "data_b64 is not Base64") from None
        if len(data) > MAX_CHUNK_BYTES:
            raise OpError("invalid", f"a chunk holds at most {MAX_CHUNK_BYTES} bytes")
        if self.store.upload(terminal, uid) is not None:
            return {"upload_id": uid, "received": total, "complete": True}
        held = self.store.chunks(terminal, uid)
        if any(c["total"] != total or c["sha256"] != body["sha256"] for c in held):
            raise OpError("conflict", "chunks of one upload disagree on total or sha256")
        self.store.add_chunk(terminal, uid, idx, total, body["sha256"], body["data_b64"])
        held = self.store.chunks(terminal, uid)
        if len(held) < total:
            return {"upload_id": uid, "received": len(held), "complete": False}
        whole = b"".join(base64.b64decode(c["data"]) for c in held)
        if hashlib.sha256(whole).hexdigest() != body["sha256"]:
            # Nothing of this request is kept (savepoint); the staff screen shows the material as
            # not received and the photo is taken again under a new upload id.
            raise OpError("invalid", "the assembled upload fails its SHA-256 check")
        self.store.complete_upload(terminal, uid, body["sha256"], len(whole),
                                   base64.b64encode(whole).decode("ascii"), iso_utc(self.clock.now()))
        return {"upload_id": uid, "received": total, "complete": True}

    def op_application_submit(self, terminal: str, body: dict) -> dict:
        """application.submit: register the citizen, open the application at its first level."""
        citizen = body["citizen"]
        id_number = citizen["id_number"].upper()
        if not idcard.is_valid(id_number):
            raise OpError("invalid", "the ID number fails the GB 11643 check")
        if seed.item(body["item_code"]) is None:
            raise OpError("not_found", f"unknown item {body['item_code']}")
        if citizens.blank(citizen["name"]):
            raise OpError("invalid", "the citizen's name is blank")
        found = seed.person(id_number)
        if found and citizens.is_registers(found[2]["name"], citizen["name"]):
            ref = self._register(found[2], found[0], found[1])
        else:
            ref = self._register({"id_number": id_number, "name": citizen["name"]}, "unknown", None)
        today, now = self.clock.today(), self.clock.now()
        region = id_number[:6]
        n = self.store.next_counter(f"mobile_app_seq:{today.isoformat()}")
        no = f"SQ{today:%Y%m%d}{region}{MOBILE_SEQ_BASE + n:04d}"
        self._add_application(no, ref, body["item_code"], region, today, 0, 0, now)
        self.store.add_intake(no, terminal, body["staff"]["staff_id"], body["consent"]["method"],
                              body["consent"]["at"], body["materials"], iso_utc(now))
        received = sum(1 for m in body["materials"]
                       if m.get("upload_id") and self.store.upload(terminal, m["upload_id"]) is not None)
        # The receipt code goes on the citizen's receipt (the mobile terminal shows or prints it).
        application = self.store.application(no)
        assert application is not None  # added just above, in this transaction
        return {"application_no": no, "citizen_ref": ref, "materials_received": received,
                "receipt_code": self.receipt_code(application)}
