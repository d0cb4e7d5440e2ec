"""Values the contract's schemas accept but the calendar, the ID-number rules or the store may not
(issue 13): every operation answers them with a result or a contract refusal (OpError), never an
exception that the service would turn into ``internal``. Property-based, with the schemas' own
patterns (Python's ``\\d`` also takes Unicode digits, ``$`` a final newline: both are generated)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hall_central import seed
from hall_central.clock import FixedClock
from hall_central.domain import Domain, OpError
from hall_central.stores import open_store
from kiosk.network import schemas
from kiosk.network.errors import InvalidMessage

from .conftest import T0

DEFS = schemas.schema_files()["common.json"]["$defs"]
LOOKUP = DEFS["id_number"]["pattern"]  # the contract keeps the ID-number rule in one $def


def _pattern(name: str) -> st.SearchStrategy[str]:
    return st.from_regex(DEFS[name]["pattern"], fullmatch=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    store = open_store(str(tmp_path_factory.mktemp("odd") / "central.db"))
    domain = Domain(store, FixedClock(start=T0))
    with store.transaction():
        domain.ensure_seeded()
        card = seed.demo_citizens()[1]
        ref = domain.handle("ZM-T0001", "citizen.lookup", {"id_number": card["id_number"], "name": card["name"]})
    yield domain, store, ref["citizen_ref"]
    store.close()


ITEMS = st.sampled_from([i["code"] for i in seed.catalogue()["items"]]) | _pattern("code")
INTS = st.integers(min_value=-(10 ** 30), max_value=10 ** 30) | st.sampled_from([0, 1, 2 ** 63, -(2 ** 63) - 1])


def _bodies(ref: str) -> st.SearchStrategy[tuple[str, dict]]:
    refs = st.just(ref) | _pattern("ref")
    slot = st.builds(lambda c, d, t: f"{c}_{d}_{t}", ITEMS, st.from_regex(r"\d{8}", fullmatch=True),
                     st.from_regex(r"\d{4}", fullmatch=True)) | _pattern("ref")
    return st.one_of(
        st.tuples(st.just("slots.list"), st.fixed_dictionaries({"item_code": ITEMS, "date": _pattern("date")})),
        st.tuples(st.just("appointments.list"), st.fixed_dictionaries({"citizen_ref": refs},
                                                                       optional={"date": _pattern("date")})),
        st.tuples(st.just("appointment.book"), st.fixed_dictionaries({"citizen_ref": refs, "item_code": ITEMS,
                                                                      "slot_id": slot})),
        st.tuples(st.just("citizen.lookup"), st.fixed_dictionaries({"id_number": st.from_regex(LOOKUP, fullmatch=True),
                                                                    "name": st.text(min_size=1, max_size=64)})),
        st.tuples(st.sampled_from(["checkin", "appointment.cancel"]),
                  st.fixed_dictionaries({"appointment_id": _pattern("ref")}, optional={"citizen_ref": refs})),
        st.tuples(st.just("catalogue.sync"), st.fixed_dictionaries({}, optional={"since_version": INTS})),
        st.tuples(st.just("feedback.submit"), st.fixed_dictionaries(
            {"kind": st.sampled_from(["rate", "complain", "consult"]),
             "target": st.just({"hall": True}) | st.fixed_dictionaries({"application_no": _pattern("ref")})},
            optional={"rating": INTS})),
        st.tuples(st.just("application.get"), st.fixed_dictionaries({"application_no": _pattern("ref")})),
        st.tuples(st.just("upload.chunk"), st.fixed_dictionaries(
            {"upload_id": _pattern("ref"), "index": INTS, "total": INTS,
             "sha256": st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
             "data_b64": st.from_regex(r"[A-Za-z0-9+/]{1,64}={0,2}", fullmatch=True)})),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_schema_valid_body_gets_a_result_or_a_contract_refusal(world, data):
    domain, store, ref = world
    op, body = data.draw(_bodies(ref))
    try:
        schemas.validate_request(op, body)
    except InvalidMessage:
        assume(False)
    with store.transaction():
        try:
            with store.savepoint():
                domain.handle("ZM-T0001", op, body)
        except OpError as e:
            assert e.code in ("invalid", "not_found", "conflict", "too_early", "too_late", "no_capacity",
                              "closed", "forbidden", "not_finished"), e.code
