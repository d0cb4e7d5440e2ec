"""The topic tree of contract v1, built and parsed here and nowhere else (pure, no I/O).

Per terminal, under ``kiosk/v1/{terminal}/``:

- ``req/{operation}``  terminal -> central: a request (operation names in :data:`OPERATIONS`)
- ``res``              central -> terminal: responses, matched by the request's envelope id
- ``evt``              terminal -> central: events (device faults, staff alerts, print status)
- ``cmd``              central -> terminal: signed remote commands
- ``state``            terminal -> central: retained birth message and last will
- ``telemetry``        terminal -> central: periodic health

Region broadcasts follow the four levels: ``kiosk/v1/bcast/{region}`` where region is a GB/T 2260
code (6 digits city/county, 9 township, 12 village). A terminal subscribes to the broadcast topic
of each level it belongs to, so a city-wide announcement on ``kiosk/v1/bcast/410100`` reaches
every terminal below Zhengzhou. Topic names carry only terminal ids, operation names and region
codes: never a citizen's data (brokers log topic names).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "kiosk/v1"
#: The central service's shared-subscription group (MQTT v5 ``$share``): several instances
#: split the load without code changes.
SHARE_GROUP = "central"

#: The grammar of a terminal id, an operation name and a region code: the same as
#: ``common.json#/$defs/terminal_id``, ``op_name`` and ``region`` (a test keeps them equal).
#: ASCII classes only (never ``\d``: any Unicode digit), always matched whole (``fullmatch``:
#: ``$`` would also match before a final newline).
TERMINAL_PATTERN = "[A-Za-z0-9][A-Za-z0-9_-]{2,63}"
OPERATION_PATTERN = "[a-z][a-z0-9_.]{1,63}"
REGION_PATTERN = "[0-9]{6}|[0-9]{9}|[0-9]{12}"
_TERMINAL_RE = re.compile(TERMINAL_PATTERN)
_OPERATION_RE = re.compile(OPERATION_PATTERN)
_REGION_RE = re.compile(REGION_PATTERN)


def is_terminal_id(value: object) -> bool:
    """True if ``value`` is a valid terminal id (a str of the contract's grammar)."""
    return isinstance(value, str) and _TERMINAL_RE.fullmatch(value) is not None


def _is(regex: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and regex.fullmatch(value) is not None


class TopicError(ValueError):
    """A topic or a part of one that the contract does not allow."""


def _check_terminal(terminal: str) -> str:
    if not is_terminal_id(terminal):
        raise TopicError(f"bad terminal id {terminal!r}")
    return terminal


def req(terminal: str, operation: str) -> str:
    """``kiosk/v1/{terminal}/req/{operation}``."""
    if not _is(_OPERATION_RE, operation):
        raise TopicError(f"bad operation {operation!r}")
    return f"{PREFIX}/{_check_terminal(terminal)}/req/{operation}"


def res(terminal: str) -> str:
    """``kiosk/v1/{terminal}/res``."""
    return f"{PREFIX}/{_check_terminal(terminal)}/res"


def evt(terminal: str) -> str:
    """``kiosk/v1/{terminal}/evt``."""
    return f"{PREFIX}/{_check_terminal(terminal)}/evt"


def cmd(terminal: str) -> str:
    """``kiosk/v1/{terminal}/cmd``."""
    return f"{PREFIX}/{_check_terminal(terminal)}/cmd"


def state(terminal: str) -> str:
    """``kiosk/v1/{terminal}/state`` (retained)."""
    return f"{PREFIX}/{_check_terminal(terminal)}/state"


def telemetry(terminal: str) -> str:
    """``kiosk/v1/{terminal}/telemetry``."""
    return f"{PREFIX}/{_check_terminal(terminal)}/telemetry"


def bcast(region: str) -> str:
    """``kiosk/v1/bcast/{region}``: an announcement to every terminal in that region."""
    if not _is(_REGION_RE, region):
        raise TopicError(f"bad region code {region!r}")
    return f"{PREFIX}/bcast/{region}"


def terminal_subscriptions(terminal: str, regions: list[str]) -> list[str]:
    """What a terminal subscribes to: its responses, its commands, its regions' broadcasts."""
    return [res(terminal), cmd(terminal)] + [bcast(r) for r in regions]


def central_subscriptions(shared: bool = True) -> list[str]:
    """What the central service subscribes to (shared subscriptions when ``shared``)."""
    topics = [f"{PREFIX}/+/req/+", f"{PREFIX}/+/evt", f"{PREFIX}/+/state", f"{PREFIX}/+/telemetry"]
    if shared:
        # state is retained: a shared subscription does not get retained messages, so the
        # central service subscribes to it unshared (every instance keeps the terminal list).
        return [f"$share/{SHARE_GROUP}/{t}" for t in topics if not t.endswith("/state")] + \
               [f"{PREFIX}/+/state"]
    return topics


@dataclass(frozen=True)
class Parsed:
    """A parsed topic: ``kind`` is req/res/evt/cmd/state/telemetry/bcast."""

    kind: str
    terminal: str = ""
    operation: str = ""
    region: str = ""


def parse(topic: str) -> Parsed:
    """Parse any contract topic; raise :class:`TopicError` for anything else."""
    if not isinstance(topic, str):
        raise TopicError(f"not a topic: {topic!r}")
    parts = topic.split("/")
    if len(parts) < 3 or "/".join(parts[:2]) != PREFIX:
        raise TopicError(f"not a {PREFIX} topic: {topic!r}")
    if parts[2] == "bcast" and len(parts) == 4 and _is(_REGION_RE, parts[3]):
        return Parsed("bcast", region=parts[3])
    terminal = parts[2]
    if not is_terminal_id(terminal):
        raise TopicError(f"bad terminal id in {topic!r}")
    rest = parts[3:]
    if len(rest) == 2 and rest[0] == "req" and _is(_OPERATION_RE, rest[1]):
        return Parsed("req", terminal, rest[1])
    if len(rest) == 1 and rest[0] in ("res", "evt", "cmd", "state", "telemetry"):
        return Parsed(rest[0], terminal)
    raise TopicError(f"unknown topic {topic!r}")
