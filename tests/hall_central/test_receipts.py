"""Receipt codes at the central service: issued signed for the city's network, only to the
application's citizen (or with a new application); a rating needs a finished application and a
proof (its receipt or its citizen), checked by the same verifier the terminals use."""
from __future__ import annotations

import pytest

from hall_central import seed
from hall_central.clock import FixedClock
from hall_central.domain import NOT_THEIRS, Domain, OpError, city_of
from hall_central.keys import CentralKeys
from hall_central.stores import open_store
from kiosk.network import schemas
from kiosk.trust import codes
from kiosk.trust import payload as P
from kiosk.trust.keys import TrustStore

from .conftest import T0

TERMINAL = "ZM-T0001"


@pytest.fixture
def keys(tmp_path):
    return CentralKeys(tmp_path / "keys", now_s=T0.timestamp() - 86400)


@pytest.fixture
def world(tmp_path, keys):
    store = open_store(str(tmp_path / "central.db"))
    domain = Domain(store, FixedClock(start=T0), signer=keys)
    with store.transaction():
        domain.ensure_seeded()
    yield domain, store
    store.close()


def _op(domain, store, op: str, body: dict) -> dict:
    schemas.validate_request(op, body)
    with store.transaction():
        result = getattr(domain, "op_" + op.replace(".", "_"))(TERMINAL, body)
    schemas.validate_result(op, result)
    return result


def _demo(domain, store, k: int = 0):
    """The k-th seeded application and its citizen's reference."""
    who = seed.DEMO_APPLICATIONS[k][0]
    card = seed.demo_citizens()[who]
    ref = _op(domain, store, "citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})["citizen_ref"]
    apps = _op(domain, store, "applications.list", {"citizen_ref": ref})["applications"]
    return ref, apps


def _finish(domain, store, no: str) -> None:
    with store.transaction():
        while domain.advance_application(no)["status"] != "done":
            pass


def _rate(domain, store, target: dict) -> dict:
    return _op(domain, store, "feedback.submit", {"kind": "rate", "rating": 5, "target": target})


def test_receipt_codes_are_signed_for_the_city_and_given_only_to_the_citizen(world, keys, tmp_path):
    domain, store = world
    ref, apps = _demo(domain, store)
    assert apps and all(a["receipt_code"].startswith("KQ1:") for a in apps)
    a = apps[0]
    terminal = TrustStore(tmp_path / "terminal", keys.root_public)
    terminal.install_keyset(keys.keyset())
    code = codes.verify(a["receipt_code"], terminal.keyset, ("410100", "410122"), T0.timestamp(), typ=codes.RECEIPT)
    assert code.claims == {"app": a["application_no"]} and code.aud == city_of(a["application_no"][10:16])
    # A typed number shows the progress but no receipt: anyone can type a number.
    got = _op(domain, store, "application.get", {"application_no": a["application_no"]})["application"]
    assert "receipt_code" not in got and got["application_no"] == a["application_no"]
    # Not a check-in code, not for another city.
    with pytest.raises(codes.CodeRejected) as e:
        codes.verify(a["receipt_code"], terminal.keyset, "H410100", T0.timestamp())
    assert e.value.why == "wrong_type"
    with pytest.raises(codes.CodeRejected) as e:
        codes.verify(a["receipt_code"], terminal.keyset, "410200", T0.timestamp(), typ=codes.RECEIPT)
    assert e.value.why == "wrong_hall"
    # The scan gate turns it into the application number, carrying the code as the proof.
    P.set_token_verifier(codes.token_verifier(terminal, "H410122203", ("410100", "410122"), now=T0.timestamp))
    try:
        scanned = P.classify(a["receipt_code"])
        assert scanned.kind == P.APPLICATION_NUMBER and scanned.value == a["application_no"]
        assert scanned.detail["receipt"] == a["receipt_code"]
        bare = P.classify(a["application_no"])  # a bare number in a QR code: refused where codes are checked
        assert bare.kind == P.UNKNOWN and "unsigned" in bare.reason
    finally:
        P.set_token_verifier(None)
    assert P.classify(a["application_no"]).kind == P.APPLICATION_NUMBER  # development terminal


def test_rating_needs_a_finished_application_and_a_proof(world):
    domain, store = world
    ref, apps = _demo(domain, store)
    a, other = apps[0], apps[1]
    no = a["application_no"]
    with pytest.raises(OpError) as e:  # not finished yet, even with the receipt
        _rate(domain, store, {"application_no": no, "receipt": a["receipt_code"]})
    assert e.value.code == "not_finished"
    _finish(domain, store, no)
    _finish(domain, store, other["application_no"])
    for bad in ({"application_no": no},                                    # a typed number only
                {"application_no": no, "receipt": other["receipt_code"]},  # another application's receipt
                {"application_no": no, "receipt": no},                     # the bare number as "receipt"
                {"application_no": no, "citizen_ref": "C" + "0" * 16}):    # somebody else
        with pytest.raises(OpError) as e:
            _rate(domain, store, bad)
        assert (e.value.code, e.value.message) == NOT_THEIRS, bad  # as an unknown number: nothing told
    assert _rate(domain, store, {"application_no": no, "receipt": a["receipt_code"]})["status"] == "received"
    assert _rate(domain, store, {"application_no": no, "citizen_ref": ref})["status"] == "received"
    # A complaint about an application needs no proof: nobody is kept from complaining.
    assert _op(domain, store, "feedback.submit", {"kind": "complain", "reasons": ["waiting"],
                                                  "target": {"application_no": no}})["status"] == "received"


def test_revoked_code_key_voids_its_receipts_at_the_central_service_too(world, keys):
    domain, store = world
    _, apps = _demo(domain, store)
    a = apps[0]
    _finish(domain, store, a["application_no"])
    keys.rotate("code", now_s=T0.timestamp() - 60, revoke_old=True)
    with pytest.raises(OpError) as e:
        _rate(domain, store, {"application_no": a["application_no"], "receipt": a["receipt_code"]})
    assert e.value.code == "not_found"
    fresh = _demo(domain, store)[1][0]["receipt_code"]  # re-issued with the new key
    assert fresh != a["receipt_code"]
    assert _rate(domain, store, {"application_no": a["application_no"], "receipt": fresh})["status"] == "received"


def test_development_service_without_keys_issues_bare_numbers(tmp_path):
    store = open_store(str(tmp_path / "dev.db"))
    try:
        domain = Domain(store, FixedClock(start=T0))
        with store.transaction():
            domain.ensure_seeded()
        ref, apps = _demo(domain, store)
        assert all(a["receipt_code"] == a["application_no"] for a in apps)
        no = apps[0]["application_no"]
        _finish(domain, store, no)
        assert _rate(domain, store, {"application_no": no, "receipt": no})["status"] == "received"
    finally:
        store.close()
