"""kiosk/network/operations.py: generated from the contract (no drift), and its types say what the
schemas say: every operation named once, each body's and result's members, required or not."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from kiosk.network import operations, schemas
from tools import gen_operations


def test_the_module_is_generated_from_the_schemas():
    pinned = "0.97.0"  # pyproject.toml's dev extra: another release may write the same types differently
    assert version("datamodel-code-generator") == pinned, "install the pinned datamodel-code-generator (make setup)"
    assert gen_operations.OUT.read_text(encoding="utf-8") == gen_operations.render(), \
        "kiosk/network/operations.py is stale: run make contract (or .venv/bin/python -m tools.gen_operations)"


def test_every_operation_is_named_once_with_its_durability():
    ops = list(schemas.operations())
    assert list(operations.OPS) == ops
    assert operations.DURABLE == {op for op in ops if schemas.is_durable(op)}
    for op in ops:
        assert getattr(operations, gen_operations.constant(op)) == op


@pytest.mark.parametrize("op", list(schemas.operations()))
@pytest.mark.parametrize("kind", ["request", "result"])
def test_each_body_and_result_has_the_members_of_its_schema(op, kind):
    schema = schemas.schema_files()[f"{op}.{kind}.json"]
    typed = getattr(operations, gen_operations.class_stem(op) + kind.capitalize())
    assert set(typed.__annotations__) == set(schema.get("properties", {})), f"{op} {kind}"
    assert typed.__required_keys__ == frozenset(schema.get("required", [])), f"{op} {kind}"


def test_a_changed_schema_makes_the_module_stale(monkeypatch):
    # The check above must be able to fail: a member added to a result shows in the generated text.
    files = dict(schemas.schema_files())
    result = dict(files["checkin.result.json"])
    result["properties"] = result["properties"] | {"floor": {"type": "integer"}}
    files["checkin.result.json"] = result
    monkeypatch.setattr(gen_operations, "schema_files", lambda: files)
    text = gen_operations.render()
    assert text != gen_operations.OUT.read_text(encoding="utf-8")
    assert "    floor: NotRequired[int]\n" in text
