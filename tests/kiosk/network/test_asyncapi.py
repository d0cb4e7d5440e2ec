"""docs/asyncapi.yaml: generated from the schema files (no drift) and valid for the official parser.

Needs node and npm (a documented requirement of the test set-up): without them this test FAILS
with a clear message rather than skipping. The parser is cached in .run/asyncapi.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tools import gen_asyncapi

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tools" / "validate_asyncapi.sh"


def _require_node() -> None:
    missing = [t for t in ("node", "npm") if shutil.which(t) is None]
    assert not missing, f"{missing} not found: the AsyncAPI test needs node >= 18 and npm (see tools/validate_asyncapi.sh)"


def test_document_is_generated_from_the_schemas():
    assert gen_asyncapi.OUT.read_text(encoding="utf-8") == gen_asyncapi.render(), \
        "docs/asyncapi.yaml is stale: run .venv/bin/python -m tools.gen_asyncapi"
    doc = yaml.safe_load(gen_asyncapi.OUT.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]["request"]["parameters"]) == {"terminal", "operation"}
    assert set(doc["channels"]["broadcast"]["parameters"]) == {"region"}
    assert "$ref" not in yaml.safe_dump(doc).replace("$ref: '#/", "")  # every $ref is internal


def test_official_parser_accepts_the_document():
    _require_node()
    out = subprocess.run([str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "VALID" in out.stdout


def test_official_parser_rejects_a_broken_document(tmp_path):
    _require_node()
    doc = yaml.safe_load(gen_asyncapi.render())
    doc["operations"]["request_checkin"]["channel"] = {"$ref": "#/channels/nowhere"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    out = subprocess.run([str(SCRIPT), str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "INVALID" in out.stdout


def test_every_ref_in_the_document_stands_alone():
    # AsyncAPI's default schema format is a JSON Schema draft-07 superset, where keywords beside a
    # $ref are ignored: a constraint there would hold for our validators and not for a reader's.
    doc = yaml.safe_load(gen_asyncapi.render())
    beside: list[str] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            if "$ref" in node and set(node) - {"$ref", "description", "title", "examples", "$comment"}:
                beside.append(f"{path}: {sorted(node)}")
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")
    walk(doc, "")
    assert not beside, beside


def test_every_operation_lists_its_error_codes_and_the_document_says_when_nothing_is_answered():
    doc = yaml.safe_load(gen_asyncapi.render())
    for op in doc["channels"]["request"]["parameters"]["operation"]["enum"]:
        key = op.replace(".", "_")
        error = doc["components"]["messages"][f"res_{key}"]["payload"]["allOf"][1]["properties"]["body"]["oneOf"][1]
        codes = error["properties"]["error"]["allOf"][1]["properties"]["code"]["enum"]
        assert codes == list(gen_asyncapi.error_codes(op)), op
        assert all(f"`{c}`" in doc["operations"][f"request_{key}"]["description"] for c in codes), op
    text = doc["info"]["description"]
    for phrase in ("answers nothing", "dropped", "answered invalid", "answered forbidden", "never of the terminal the"):
        assert phrase in text, phrase
