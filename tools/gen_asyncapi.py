"""Generate docs/asyncapi.yaml (AsyncAPI 3.0.0) from the contract in kiosk/network/schemas/.

Why generated: the JSON Schemas are the one source of truth (the gateway and the central service
validate with them); the AsyncAPI document embeds the same schemas under components/schemas
(``common.json#/$defs/X`` becomes ``#/components/schemas/X``) so it is self-contained and cannot
drift. Each operation's response lists exactly the error codes the central service answers to it
(``operations.json`` and ``ops/<op>.json``, :func:`kiosk.network.schemas.error_codes`), and the document says when the
central service answers ``invalid`` or ``forbidden`` and when it answers nothing.
``python -m tools.gen_asyncapi`` rewrites the file; ``--check`` exits 1 if it is stale.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

from kiosk.network import envelope, topics
from kiosk.network.schemas import error_codes, schema_files
from tools import generated

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "asyncapi.yaml"
_COMMON = "common.json#/$defs/"


def _convert(node):
    """Rewrite $refs into the document and drop the 2020-12 file headers."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in ("$schema", "$id", "$defs"):
                continue
            if k == "$ref" and isinstance(v, str):
                if v.startswith(_COMMON):
                    v = "#/components/schemas/" + v[len(_COMMON):]
                elif v.endswith(".json"):
                    v = "#/components/schemas/" + v[:-5]
            out[k] = _convert(v)
        return out
    if isinstance(node, list):
        return [_convert(x) for x in node]
    return node


def _sref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _envelope_with(type_: str, body: dict, op: dict | None = None, extra_required: tuple = ()) -> dict:
    props: dict = {"type": {"const": type_}, "body": body}
    if op:
        props["op"] = op
    for name in extra_required:  # required here means present AND a reference (null is not one)
        props[name] = _sref("ref")
    part = {"type": "object", "properties": props, "required": list(extra_required)}
    if not part["required"]:
        del part["required"]
    return {"allOf": [_sref("envelope"), part]}


def _error_reasons(meta: dict, op: str) -> dict[str, str]:
    """Code -> when the central service answers it to ``op`` (the operation's own reason first)."""
    info = meta["operations"].get(op)
    if info is None:
        return {c: meta["event_ack_errors"][c] for c in error_codes(op)}
    general = {**meta["every_request_errors"], **(meta["durable_request_errors"] if info["durable"] else {})}
    return {c: "; or ".join(r for r in (info["errors"].get(c), general.get(c)) if r) for c in error_codes(op)}


def _res_body(result: dict, reasons: dict[str, str]) -> dict:
    """A response body: ``{ok: true, result}`` or ``{ok: false, error}`` with exactly these codes."""
    return {"oneOf": [
        {"type": "object", "required": ["ok", "result"],
         "properties": {"ok": {"const": True}, "result": result}},
        {"type": "object", "required": ["ok", "error"],
         "properties": {"ok": {"const": False},
                        "error": {"allOf": [_sref("error"), {"properties": {"code": {"enum": list(reasons)}}}]}},
         "description": "Error codes: " + "; ".join(f"{c}: {r}" for c, r in reasons.items())}]}


def _errors_markdown(reasons: dict[str, str]) -> str:
    return "Error codes:\n" + "\n".join(f"- `{c}`: {r}" for c, r in reasons.items())


def _replies(meta: dict) -> dict[str, str]:
    """The reply rules of operations.json with the envelope's limits filled in."""
    limits = {"{max_bytes}": envelope.MAX_BYTES, "{max_depth}": envelope.MAX_DEPTH,
              "{max_int_digits}": envelope.MAX_INT_DIGITS}
    out = {}
    for key, text in meta["replies"].items():
        for name, value in limits.items():
            text = text.replace(name, str(value))
        out[key] = text
    return out


def build() -> dict:
    """The AsyncAPI document as a dict."""
    files = schema_files()
    meta = files["operations.json"]
    ops = meta["operations"]
    schemas: dict = {}
    for name, doc in files.items():
        if name == "operations.json":
            continue
        if name == "common.json":
            schemas.update({k: _convert(v) for k, v in doc["$defs"].items()})
        else:
            schemas[name[:-5]] = _convert(doc)
    messages: dict = {}
    channels: dict = {}
    operations: dict = {}
    term_param = {"description": "terminal id: letters, digits, - and _ (3-64), never personal data",
                  "examples": ["ZM-0001"]}
    req_msgs, res_msgs = {}, {}
    for op, info in ops.items():
        key = op.replace(".", "_")
        durable = info["durable"]
        messages[f"req_{key}"] = {
            "name": f"{op} request", "title": f"{op} request", "summary": info["description"],
            "contentType": "application/json",
            "payload": _envelope_with("req", _sref(f"{op}.request"), {"const": op},
                                      ("idem",) if durable else ()),
        }
        res_body = _res_body(_sref(f"{op}.result"), _error_reasons(meta, op))
        messages[f"res_{key}"] = {
            "name": f"{op} response", "title": f"{op} response",
            "summary": f"Answer to {op}: corr = the request's id" + (", idem echoed" if durable else ""),
            "contentType": "application/json",
            "payload": _envelope_with("res", res_body, {"const": op}, ("corr",)),
        }
        req_msgs[f"req_{key}"] = {"$ref": f"#/components/messages/req_{key}"}
        res_msgs[f"res_{key}"] = {"$ref": f"#/components/messages/res_{key}"}
    messages["res_event_ack"] = {
        "name": "event acknowledgement", "summary": "Answer to an event: corr = the event's id, body {ok:true, result:{}}",
        "contentType": "application/json",
        "payload": _envelope_with("res", _res_body({"type": "object", "maxProperties": 0},
                                                   _error_reasons(meta, "<event>")), None, ("corr",))}
    res_msgs["res_event_ack"] = {"$ref": "#/components/messages/res_event_ack"}
    simple = {
        "event": ("evt", "event", "Durable event (op = event name: " + ", ".join(meta["events"]) + "); idem = id",
                  {"type": "string"}),
        "command": ("cmd", "command", "Remote command (op: " + ", ".join(meta["commands"]) + ")",
                    {"enum": meta["commands"]}),
        "state": ("state", "state", "Retained birth message (online true) and last will (online false)",
                  {"const": "state"}),
        "telemetry": ("telemetry", "telemetry", "Periodic health, QoS 0", {"const": "telemetry"}),
        "broadcast": ("bcast", "broadcast", "Announcement to every terminal of a region", {"const": "announcement"}),
    }
    for mkey, (type_, schema, summary, op_schema) in simple.items():
        messages[mkey] = {"name": mkey, "summary": summary, "contentType": "application/json",
                          "payload": _envelope_with(type_, _sref(schema), op_schema,
                                                    ("idem",) if type_ == "evt" else ())}
    replies = _replies(meta)
    channels["request"] = {
        "address": f"{topics.PREFIX}/{{terminal}}/req/{{operation}}",
        "description": "Terminal -> central requests. Durable operations carry envelope.idem; the central "
                       "service applies an idem key once, answers a replay with the first answer, rejects a "
                       "reused key with another body (error conflict), keeps keys 30 days.\n\n"
                       + "\n\n".join(replies.values()),
        "parameters": {"terminal": term_param,
                       "operation": {"enum": list(ops), "description": "the operation name (= envelope.op)"}},
        "messages": req_msgs}
    channels["response"] = {"address": f"{topics.PREFIX}/{{terminal}}/res",
                            "description": "Central -> terminal responses, matched by corr = request id. "
                                           + replies["reply_path"],
                            "parameters": {"terminal": term_param}, "messages": res_msgs}
    for ch, kind, desc in (("event", "evt", "Terminal -> central durable events"),
                           ("command", "cmd", "Central -> terminal commands"),
                           ("state", "state", "Terminal state (retained); last will on loss"),
                           ("telemetry", "telemetry", "Terminal -> central health (QoS 0)")):
        channels[ch] = {"address": f"{topics.PREFIX}/{{terminal}}/{kind}", "description": desc,
                        "parameters": {"terminal": term_param},
                        "messages": {ch: {"$ref": f"#/components/messages/{ch}"}}}
    channels["broadcast"] = {
        "address": f"{topics.PREFIX}/bcast/{{region}}",
        "description": "Region broadcast; a terminal subscribes to each level it belongs to",
        "parameters": {"region": {"description": "GB/T 2260 code: 6 digits city/county, 9 township, 12 village",
                                  "examples": ["410100", "410122"]}},
        "messages": {"broadcast": {"$ref": "#/components/messages/broadcast"}}}

    def binding(qos: int, retain: bool = False) -> dict:
        return {"mqtt": {"qos": qos, "retain": retain, "bindingVersion": "0.2.0"}}
    for op in ops:
        key = op.replace(".", "_")
        operations[f"request_{key}"] = {
            "action": "send", "channel": {"$ref": "#/channels/request"}, "summary": ops[op]["description"],
            "description": _errors_markdown(_error_reasons(meta, op)),
            "messages": [{"$ref": f"#/channels/request/messages/req_{key}"}], "bindings": binding(1),
            "reply": {"channel": {"$ref": "#/channels/response"},
                      "messages": [{"$ref": f"#/channels/response/messages/res_{key}"}]}}
    operations["emitEvent"] = {"action": "send", "channel": {"$ref": "#/channels/event"}, "bindings": binding(1),
                               "description": _errors_markdown(_error_reasons(meta, "<event>")),
                               "messages": [{"$ref": "#/channels/event/messages/event"}],
                               "reply": {"channel": {"$ref": "#/channels/response"},
                                         "messages": [{"$ref": "#/channels/response/messages/res_event_ack"}]}}
    operations["receiveCommand"] = {"action": "receive", "channel": {"$ref": "#/channels/command"},
                                    "bindings": binding(1), "messages": [{"$ref": "#/channels/command/messages/command"}]}
    operations["publishState"] = {"action": "send", "channel": {"$ref": "#/channels/state"},
                                  "bindings": binding(1, True), "messages": [{"$ref": "#/channels/state/messages/state"}]}
    operations["publishTelemetry"] = {"action": "send", "channel": {"$ref": "#/channels/telemetry"},
                                      "bindings": binding(0), "messages": [{"$ref": "#/channels/telemetry/messages/telemetry"}]}
    operations["receiveBroadcast"] = {"action": "receive", "channel": {"$ref": "#/channels/broadcast"},
                                      "bindings": binding(1), "messages": [{"$ref": "#/channels/broadcast/messages/broadcast"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Hall kiosk <-> central service network, contract v1", "version": meta["version"],
                 "description": (
                     "The terminal's view (send = terminal publishes). Generated by tools/gen_asyncapi.py from "
                     "kiosk/network/schemas/: do not edit by hand. Every message is a JSON envelope "
                     "(components/schemas/envelope). Dates are YYYY-MM-DD hall local (Asia/Shanghai), times HH:MM, "
                     "timestamps ISO 8601 UTC. MQTT v5, QoS 1 unless stated; the central service subscribes with "
                     "$share/central/ for req, evt and telemetry. No personal data in topics; only citizen.lookup "
                     "carries an ID number (online only); durable bodies carry references only. A message is at "
                     f"most {envelope.MAX_BYTES} bytes of UTF-8 JSON nested at most {envelope.MAX_DEPTH} levels; "
                     "patterns are ECMA-262 and match the whole string.\n\n"
                     "## Answers and silences\n\n" + "\n\n".join(replies.values()) + "\n\n## Versions\n\n"
                     + "\n\n".join(f"{k}: {v}" if k != "rule" else v for k, v in meta["versions"].items()))},
        "defaultContentType": "application/json",
        "servers": {"hall": {"host": "broker.local:8883", "protocol": "mqtt", "protocolVersion": "5",
                             "description": "the city's broker (mqtts with a device certificate)"}},
        "channels": channels, "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render() -> str:
    """The YAML text of the document."""
    head = "# GENERATED by tools/gen_asyncapi.py from kiosk/network/schemas/: do not edit.\n"
    return head + yaml.safe_dump(copy.deepcopy(build()), sort_keys=False, allow_unicode=True, width=100)


def main() -> int:
    """Write docs/asyncapi.yaml, or with --check report whether it is current."""
    return generated.main(OUT, render, __doc__, "python -m tools.gen_asyncapi")


if __name__ == "__main__":
    sys.exit(main())
