"""Signed check-in codes: valid ones accepted offline; thousands of mutations all refused with a
typed reason; key rotation and revocation; the decompression-bomb guard."""
from __future__ import annotations

import random
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hall_central.keys import CentralKeys
from hall_demo import code_mutations
from hall_demo.code_mutations import mutations, same_signed_content
from kiosk.trust import codes
from kiosk.trust import payload as P
from kiosk.trust.codes import CodeRejected
from kiosk.trust.keys import KeysetRejected, TrustStore, verify_keyset

HALL = "H410100"
#: The terminal's region chain (city, county): the audiences of receipt codes it accepts.
REGIONS = ("410100", "410122")
AUDIENCES = codes.scan_audiences(HALL, REGIONS)
#: The tests' clock, read once at import. The keys are made valid from this instant: a suite that
#: reaches these tests minutes after collecting them would otherwise sign with keys whose
#: validity starts after NOW (CentralKeys backdates only 300 s), and every code reads key_expired.
NOW = time.time()


@pytest.fixture
def central(tmp_path):
    return CentralKeys(tmp_path / "keys", now_s=NOW)


@pytest.fixture
def store(tmp_path, central):
    s = TrustStore(tmp_path / "state", central.root_public)
    s.install_keyset(central.keyset())
    return s


def _code(central, **kw):
    args = {"aud": HALL, "exp_s": int(NOW) + 3600, "now_s": int(NOW)}
    args.update(kw)
    return central.sign_code({"apt": "AP0123456789ABCDEF"}, **args)


def _receipt(central, **kw):
    args = {"aud": "410100", "exp_s": int(NOW) + 86400, "now_s": int(NOW), "typ": codes.RECEIPT}
    args.update(kw)
    return central.sign_code({"app": "SQ202603184101220001"}, **args)


def test_receipt_code_verifies_for_the_city_and_never_passes_for_a_checkin_code(central, store):
    code = codes.verify_any(_receipt(central), store.keyset, AUDIENCES, NOW)
    assert code.typ == codes.RECEIPT and code.claims == {"app": "SQ202603184101220001"}
    assert codes.verify(_receipt(central, aud="410122"), store.keyset, REGIONS, NOW, typ=codes.RECEIPT)
    for text, audience, typ, why in (
            (_receipt(central), HALL, codes.CHECKIN, "wrong_type"),         # a receipt is no check-in code
            (_code(central), REGIONS, codes.RECEIPT, "wrong_type"),         # a slip is no receipt
            (_receipt(central, aud="410200"), REGIONS, codes.RECEIPT, "wrong_hall"),  # another city
            (_receipt(central, exp_s=int(NOW) - 3600, now_s=int(NOW) - 7200), REGIONS, codes.RECEIPT, "expired")):
        with pytest.raises(CodeRejected) as e:
            codes.verify(text, store.keyset, audience, NOW, typ=typ)
        assert e.value.why == why
    # A signed code of an unknown type, or one without its subject claim, is refused too.
    kid = central.meta["code_kid"]
    odd = codes.encode(central._priv[kid], kid, {"app": "SQ1"}, aud=HALL, iat=int(NOW), exp=int(NOW) + 60, typ="pay")
    with pytest.raises(CodeRejected) as e:
        codes.verify_any(odd, store.keyset, AUDIENCES, NOW)
    assert e.value.why == "wrong_type"
    bare = codes.encode(central._priv[kid], kid, {}, aud=HALL, iat=int(NOW), exp=int(NOW) + 60)
    with pytest.raises(CodeRejected) as e:
        codes.verify(bare, store.keyset, HALL, NOW)
    assert e.value.why == "malformed"


def test_valid_code_verifies_offline(central, store):
    code = codes.verify(_code(central), store.keyset, HALL, NOW)
    assert code.claims == {"apt": "AP0123456789ABCDEF"} and code.aud == HALL and code.typ == codes.CHECKIN
    text = _code(central)
    assert len(text) < 300 and set(text[4:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@pytest.mark.parametrize("why,make", [
    ("expired", lambda c: _code(c, exp_s=int(NOW) - 3600, now_s=int(NOW) - 7200)),
    ("not_yet_valid", lambda c: _code(c, now_s=int(NOW) + 3600, exp_s=int(NOW) + 7200)),
    ("wrong_hall", lambda c: _code(c, aud="H410122")),
])
def test_semantic_refusals(central, store, why, make):
    with pytest.raises(CodeRejected) as e:
        codes.verify(make(central), store.keyset, HALL, NOW)
    assert e.value.why == why and e.value.code == f"code.{why}"


def test_wrong_key_with_a_known_kid_is_a_bad_signature(central, store):
    kid = central.meta["code_kid"]
    forged = codes.encode(Ed25519PrivateKey.generate(), kid, {"apt": "AP1"}, aud=HALL, iat=int(NOW), exp=int(NOW) + 60)
    with pytest.raises(CodeRejected) as e:
        codes.verify(forged, store.keyset, HALL, NOW)
    assert e.value.why == "bad_signature"
    unknown = codes.encode(Ed25519PrivateKey.generate(), "code-99", {}, aud=HALL, iat=int(NOW), exp=int(NOW) + 60)
    with pytest.raises(CodeRejected) as e:
        codes.verify(unknown, store.keyset, HALL, NOW)
    assert e.value.why == "unknown_key"


def test_command_key_cannot_sign_codes(central, store):
    kid = central.meta["command_kid"]
    text = codes.encode(central._priv[kid], kid, {}, aud=HALL, iat=int(NOW), exp=int(NOW) + 60)
    with pytest.raises(CodeRejected) as e:
        codes.verify(text, store.keyset, HALL, NOW)
    assert e.value.why == "wrong_use"


def test_decompression_bomb_stops_at_the_limit(central, store):
    bomb = code_mutations.bomb()
    assert len(bomb) < P.TOKEN_MAX_CHARS + 4  # it fits in a QR code...
    with pytest.raises(CodeRejected) as e:
        codes.verify(bomb, store.keyset, HALL, NOW)
    assert e.value.why == "too_large"  # ...and is refused after inflating at most the limit, not 600 KB


@pytest.mark.parametrize("make,kind", [(_code, P.APPOINTMENT), (_receipt, P.APPLICATION_NUMBER)],
                         ids=["checkin", "receipt"])
def test_thousands_of_mutated_codes_are_all_refused_with_a_reason(central, store, make, kind):
    rng = random.Random(6)
    text = make(central)
    reasons = {}
    P.set_token_verifier(codes.token_verifier(store, HALL, REGIONS, now=lambda: NOW))
    try:
        assert P.classify(text).kind == kind
        for bad in mutations(text, rng, 3000):
            if bad == text or same_signed_content(bad, text):
                # Deflate's final padding bits are ignored: such a text carries the very same
                # signed bytes, so it is the same code, not a forgery.
                continue
            with pytest.raises(CodeRejected) as e:
                codes.verify_any(bad, store.keyset, AUDIENCES, NOW)
            reasons[e.value.why] = reasons.get(e.value.why, 0) + 1
            assert P.classify(bad).kind == P.UNKNOWN  # the scan gate fails closed too
    finally:
        P.set_token_verifier(None)
    assert {"encoding", "bad_signature", "format"} <= set(reasons), reasons


def test_scan_gate_uses_the_verifier(central, store):
    P.set_token_verifier(codes.token_verifier(store, HALL, REGIONS, now=lambda: NOW))
    try:
        good = P.classify(_code(central))
        assert good.kind == P.APPOINTMENT and good.detail["verified"]
        bad = P.classify(_code(central, aud="H999999"))
        assert bad.kind == P.UNKNOWN and "wrong_hall" in bad.reason
        assert P.classify("KQ1:" + "QUJDREVGR0hJSktMTU5PUA").kind == P.UNKNOWN  # unsigned base64url
    finally:
        P.set_token_verifier(None)


def test_rotation_and_revocation(tmp_path, central, store):
    old = _code(central)
    central.rotate("code", now_s=NOW)
    new = _code(central)
    with pytest.raises(CodeRejected) as e:  # the terminal does not know the new key yet
        codes.verify(new, store.keyset, HALL, NOW)
    assert e.value.why == "unknown_key"
    assert store.install_keyset(central.keyset())
    assert codes.verify(old, store.keyset, HALL, NOW) and codes.verify(new, store.keyset, HALL, NOW)
    stale = central.keyset()
    central.revoke(central.meta["keys"] and "code-1")
    assert store.install_keyset(central.keyset())
    with pytest.raises(CodeRejected) as e:
        codes.verify(old, store.keyset, HALL, NOW)
    assert e.value.why == "revoked_key"
    assert codes.verify(new, store.keyset, HALL, NOW)
    with pytest.raises(KeysetRejected) as k:  # rolling back to the set that still trusts code-1
        store.install_keyset(stale)
    assert k.value.why == "rollback"
    # Durable: a restarted terminal still refuses the revoked key and the rollback.
    again = TrustStore(tmp_path / "state", central.root_public)
    assert again.keyset.version == store.keyset.version
    with pytest.raises(CodeRejected):
        codes.verify(old, again.keyset, HALL, NOW)
    with pytest.raises(KeysetRejected):
        again.install_keyset(stale)


def test_keyset_must_be_signed_by_the_pinned_root(central, tmp_path):
    impostor = CentralKeys(tmp_path / "impostor", now_s=NOW)
    impostor.meta["version"] = 99
    s = TrustStore(tmp_path / "s2", central.root_public)
    with pytest.raises(KeysetRejected) as e:
        s.install_keyset(impostor.keyset())
    assert e.value.why == "bad_signature"
    doc = central.keyset()
    doc["keyset"]["revoked"] = []
    doc["keyset"]["version"] += 5
    with pytest.raises(KeysetRejected):
        verify_keyset(doc, s.root)
    for junk in (None, [], {"keyset": 1, "sig": "x"}, {"keyset": {}, "sig": 5}):
        with pytest.raises(KeysetRejected):
            s.install_keyset(junk)
    assert s.keyset is None


def test_no_keyset_means_no_code_is_accepted(central, tmp_path):
    s = TrustStore(tmp_path / "empty", central.root_public)
    with pytest.raises(CodeRejected) as e:
        codes.verify(_code(central), s.keyset, HALL, NOW)
    assert e.value.why == "no_keyset"


def test_central_keys_persist(tmp_path):
    a = CentralKeys(tmp_path / "k")
    b = CentralKeys(tmp_path / "k")
    assert a.root_public == b.root_public and a.meta == b.meta
