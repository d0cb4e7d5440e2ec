"""Nothing falls between the terminal, the document and the central service: every operation and
event the terminal's code can send is in docs/asyncapi.yaml with a reply, and every operation of
the document has a handler in the reference central service (and it handles nothing else)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hall_central import domain
from hall_central.domain import Domain
from kiosk.network import operations

from .conftest import ROOT, doc, doc_operations, message_key

#: Gateway methods whose first argument is an operation (request/submit) or an event (emit_event).
_SENDERS = {"request": "op", "submit": "op", "emit_event": "event"}
_OPERATIONS = "kiosk.network.operations"


class _Names:
    """What a module's names stand for: string constants, and kiosk.network.operations (the module
    under any alias, or names imported from it)."""

    def __init__(self, tree: ast.Module) -> None:
        self.assigned: dict[str, ast.expr] = {}
        self.modules: set[str] = set()
        self.imported: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign):
                self.assigned.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.assigned[node.target.id] = node.value  # NAME: Final = operations.X
            elif isinstance(node, ast.ImportFrom) and node.module == "kiosk.network":
                self.modules |= {a.asname or a.name for a in node.names if a.name == "operations"}
            elif isinstance(node, ast.ImportFrom) and node.module == _OPERATIONS:
                self.imported.update({a.asname or a.name: a.name for a in node.names})
            elif isinstance(node, ast.Import):
                self.modules |= {a.asname for a in node.names if a.name == _OPERATIONS and a.asname}

    def resolve(self, node: ast.expr, depth: int = 0) -> tuple[str | None, str]:
        """(the name ``node`` stands for or None, ``"operations"`` when it comes from
        kiosk.network.operations else ``"literal"``)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, "literal"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.modules:
            return getattr(operations, node.attr, None), "operations"
        if isinstance(node, ast.Name):
            if node.id in self.imported:
                return getattr(operations, self.imported[node.id], None), "operations"
            if node.id in self.assigned and depth < 3:
                return self.resolve(self.assigned[node.id], depth + 1)
        return None, "literal"


def terminal_sends() -> dict[str, set[tuple[str, str, str]]]:
    """{"op": {(name, where, how)}, "event": {...}} for every ``gateway.request/submit/emit_event``
    call in kiosk/ whose first argument names something: a string constant or a module constant
    (``how`` = ``"literal"``), or kiosk.network.operations (``how`` = ``"operations"``)."""
    found: dict[str, set[tuple[str, str, str]]] = {"op": set(), "event": set()}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _Names(tree)
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
            name, how = names.resolve(node.args[1] if via_attempts else node.args[0])
            if isinstance(name, str) and (owner != "self" or Path(path).name == "gateway.py"):
                found[kind].add((name, f"{path.relative_to(ROOT)}:{node.lineno}", how))
    return found


def test_the_scan_finds_what_the_terminal_sends():
    sends = terminal_sends()
    names = {n for n, _, _ in sends["op"]}
    # A scan that silently found nothing would make the next test pass for nothing.
    assert {"checkin", "citizen.lookup", "catalogue.sync", "upload.chunk", "application.submit"} <= names, names
    assert {"staff.call", "print.failed"} <= {n for n, _, _ in sends["event"]}


def test_the_document_lists_every_operation_and_event_the_terminal_sends_with_a_reply():
    ops = set(doc_operations())
    sends = terminal_sends()
    missing = sorted(f"{n} ({where})" for n, where, _ in sends["op"] if n not in ops)
    assert not missing, f"the terminal sends operations the document does not list: {missing}"
    summary = doc()["components"]["messages"]["event"]["summary"]
    events = set(re.search(r"event name: ([^)]*)\)", summary).group(1).split(", "))
    missing = sorted(f"{n} ({where})" for n, where, _ in sends["event"] if n not in events)
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
    assert set(domain.HANDLERS) == set(doc_operations()), "the central service's dispatch table is not the document's"


def test_the_central_service_refuses_to_start_when_handlers_and_contract_disagree():
    class Extra(Domain):
        def op_zz_unlisted(self, terminal: str, body: dict) -> dict:
            return {}
    ops = list(operations.OPS)
    assert domain.check_handlers(Extra, ops + ["zz.unlisted"])["zz.unlisted"] == "op_zz_unlisted"
    with pytest.raises(TypeError, match=r"handlers of no operation of the contract: \['op_zz_unlisted'\]"):
        domain.check_handlers(Extra, ops)
    with pytest.raises(TypeError, match=r"operations without a handler: \['zz.unlisted'\]"):
        domain.check_handlers(Domain, ops + ["zz.unlisted"])
    with pytest.raises(TypeError, match=r"operations sharing a handler: \['zz.unlisted', 'zz_unlisted'\]"):
        domain.check_handlers(Extra, ops + ["zz.unlisted", "zz_unlisted"])


#: Where the terminal talks to the central service. The screens do not (they see services only:
#: issue 14), so they are not held to this; a screen that still sends is found by the scan above.
_SENDING_LAYERS = ("kiosk/services/", "kiosk/network/")


def test_services_and_the_gateway_name_every_operation_through_kiosk_network_operations():
    sends = {(n, where, how) for n, where, how in terminal_sends()["op"] if where.startswith(_SENDING_LAYERS)}
    assert len(sends) >= 12, sends  # the scan still sees the services' calls
    typed_again = sorted(f"{n} ({where})" for n, where, how in sends if how != "operations")
    assert not typed_again, f"operations named by a string, not kiosk.network.operations: {typed_again}"
