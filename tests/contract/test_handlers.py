"""Nothing falls between the terminal, the document and the central service: every operation and
event the terminal's code can send is in docs/asyncapi.yaml with a reply, and every operation of
the document has a handler in the reference central service (and it handles nothing else)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from hall_central.domain import Domain

from .conftest import ROOT, doc, doc_operations, message_key

#: Gateway methods whose first argument is an operation (request/submit) or an event (emit_event).
_SENDERS = {"request": "op", "submit": "op", "emit_event": "event"}


def _module_constants(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def terminal_sends() -> dict[str, set[tuple[str, str]]]:
    """{"op": {(name, where)}, "event": {...}} for every ``gateway.request/submit/emit_event`` call in kiosk/
    whose first argument is a string constant or a module constant."""
    found: dict[str, set[tuple[str, str]]] = {"op": set(), "event": set()}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = _module_constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            kind = _SENDERS.get(node.func.attr)
            # Only calls on something named like the gateway: other objects have submit() methods too.
            owner = ast.unparse(node.func.value)
            # attempts.submit(gateway, op, ...): one idempotency key per attempt (kiosk.services.attempts)
            via_attempts = owner.endswith("attempts") and node.func.attr == "submit" and len(node.args) > 1
            if kind is None or "gateway" not in owner and owner != "self" and not via_attempts:
                continue
            arg = node.args[1] if via_attempts else node.args[0]
            name = arg.value if isinstance(arg, ast.Constant) else consts.get(arg.id) if isinstance(arg, ast.Name) else None
            if isinstance(name, str) and (owner != "self" or Path(path).name == "gateway.py"):
                found[kind].add((name, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def test_the_scan_finds_what_the_terminal_sends():
    sends = terminal_sends()
    names = {n for n, _ in sends["op"]}
    # A scan that silently found nothing would make the next test pass for nothing.
    assert {"checkin", "citizen.lookup", "catalogue.sync", "upload.chunk", "application.submit"} <= names, names
    assert {"staff.call", "print.failed"} <= {n for n, _ in sends["event"]}


def test_the_document_lists_every_operation_and_event_the_terminal_sends_with_a_reply():
    ops = set(doc_operations())
    sends = terminal_sends()
    missing = sorted(f"{n} ({where})" for n, where in sends["op"] if n not in ops)
    assert not missing, f"the terminal sends operations the document does not list: {missing}"
    summary = doc()["components"]["messages"]["event"]["summary"]
    events = set(re.search(r"event name: ([^)]*)\)", summary).group(1).split(", "))
    missing = sorted(f"{n} ({where})" for n, where in sends["event"] if n not in events)
    assert not missing, f"the terminal emits events the document does not list: {missing}"
    operations = doc()["operations"]
    for op in ops:
        key = message_key(op)
        reply = operations[f"request_{key}"]["reply"]
        assert reply["channel"] == {"$ref": "#/channels/response"}, op
        assert reply["messages"] == [{"$ref": f"#/channels/response/messages/res_{key}"}], op
    assert operations["emitEvent"]["reply"]["messages"] == [{"$ref": "#/channels/response/messages/res_event_ack"}]


def test_every_operation_of_the_document_has_a_central_handler_and_no_other_exists():
    handlers = {name[3:] for name in dir(Domain) if name.startswith("op_") and callable(getattr(Domain, name))}
    ops = {message_key(op) for op in doc_operations()}
    assert not ops - handlers, f"operations without a handler in central/hall_central: {sorted(ops - handlers)}"
    assert not handlers - ops, f"central handlers of operations the document does not list: {sorted(handlers - ops)}"
