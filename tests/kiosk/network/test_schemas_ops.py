"""One file per operation (kiosk/network/schemas/ops/<op>.json): how the loader reads it, and the
mistakes it refuses instead of ignoring."""
from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from kiosk.network import schemas

SPEC: dict[str, Any] = {
        "description": "Queue lengths of the hall.", "durable": False, "errors": {"not_found": "unknown hall"},
        "request": {"type": "object", "properties": {"hall": {"$ref": "common.json#/$defs/code"}},
                    "additionalProperties": False},
        "result": {"type": "object", "properties": {"waiting": {"type": "integer", "minimum": 0}},
                   "required": ["waiting"]}}


def test_an_operation_file_is_its_entry_and_two_schema_documents_named_by_the_file():
    entry, docs = schemas._operation_docs("hall.status", json.loads(json.dumps(SPEC)))
    assert entry == {"durable": False, "description": "Queue lengths of the hall.", "errors": {"not_found": "unknown hall"}}
    req, res = docs["hall.status.request.json"], docs["hall.status.result.json"]
    assert req["$id"] == schemas.ID_BASE + "hall.status.request.json" and req["title"] == "hall.status request body"
    assert res["$id"] == schemas.ID_BASE + "hall.status.result.json" and res["title"] == "hall.status result"
    assert req["$schema"] == res["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # The request says what the operation does unless it says more itself; the result says nothing unasked.
    assert req["description"] == "Queue lengths of the hall." and "description" not in res
    own = schemas._operation_docs("hall.status", SPEC | {"request": SPEC["request"] | {"description": "more"}})[1]
    assert own["hall.status.request.json"]["description"] == "more"
    assert list(req)[:4] == ["$schema", "$id", "title", "description"] and req["properties"] == SPEC["request"]["properties"]


@pytest.mark.parametrize("spec, words", [
    ({k: v for k, v in SPEC.items() if k != "errors"}, "keys must be"),
    (SPEC | {"erors": {}}, "keys must be"),
    (SPEC | {"request": SPEC["request"] | {"$id": "https://elsewhere.invalid/x.json"}}, "which the file's name gives"),
    (SPEC | {"result": SPEC["result"] | {"title": "status"}}, "which the file's name gives"),
])
def test_a_misshapen_operation_file_is_refused_not_half_read(spec, words):
    with pytest.raises(schemas.ContractFileError, match=words):
        schemas._operation_docs("hall.status", spec)


def test_every_operation_of_the_contract_comes_from_its_file():
    files = schemas.schema_files()
    on_disk = sorted(p.name[:-len(".json")] for p in schemas.OPS_DIR.glob("*.json"))
    assert list(schemas.operations()) == on_disk and len(on_disk) >= 13
    for op in on_disk:
        assert files[f"{op}.request.json"]["$id"].endswith(f"/{op}.request.json")
        assert files[f"{op}.result.json"]["$id"].endswith(f"/{op}.result.json")
    assert not list(schemas.SCHEMA_DIR.glob("*.request.json")), "an operation's schemas live in ops/<op>.json"


def test_operations_json_that_lists_operations_again_is_refused(tmp_path, monkeypatch):
    # Two places for one fact: the loader refuses rather than pick one.
    shutil.copytree(schemas.SCHEMA_DIR, tmp_path / "schemas")
    meta = json.loads((tmp_path / "schemas" / "operations.json").read_text(encoding="utf-8"))
    meta["operations"] = {"checkin": {"durable": True, "description": "x", "errors": {}}}
    (tmp_path / "schemas" / "operations.json").write_text(json.dumps(meta), encoding="utf-8")
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path / "schemas")
    monkeypatch.setattr(schemas, "OPS_DIR", tmp_path / "schemas" / "ops")
    schemas._load.cache_clear()
    try:
        with pytest.raises(schemas.ContractFileError, match="each has its file"):
            schemas._load()
    finally:
        monkeypatch.undo()
        schemas._load.cache_clear()
    assert "checkin" in schemas.operations()
