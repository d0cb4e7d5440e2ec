"""Typed errors of the network link: what failed between the terminal and the central service.

Screens translate by ``code``; staff screens and logs show ``reason`` and ``action``. None of these
carries a citizen's data: messages name operations, ids and error codes only.
"""
from __future__ import annotations

from typing import Any

from kiosk.errors import KioskError


class NetworkError(KioskError):
    """Base of every network failure."""

    code = "network"
    citizen_message = "网络服务暂时不可用，请稍后再试或联系工作人员。"


class Offline(NetworkError):
    """The terminal has no link to the broker right now (online operations fail at once)."""

    code = "network.offline"
    citizen_message = "网络暂时中断，该业务需联网办理，请稍后再试或到窗口办理。"

    def __init__(self, reason: str = "not connected to the broker", **kw: Any) -> None:
        kw.setdefault("action", "check the network cable/4G link and the broker; the terminal reconnects by itself")
        super().__init__(reason, **kw)


class Timeout(NetworkError):
    """The central service did not answer in time (a durable request stays in the outbox)."""

    code = "network.timeout"
    citizen_message = "服务响应超时，请稍后再试。"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "try again; if it persists, check the central service's status")
        super().__init__(reason, **kw)


class Rejected(NetworkError):
    """The central service answered with a definitive no (``error_code`` from the contract)."""

    code = "network.rejected"
    citizen_message = "业务未能办理，请按提示操作或联系工作人员。"

    #: What a citizen or the staff should do for each contract error code.
    ACTIONS = {
        "invalid": "the request was malformed: report it to the technician",
        "not_found": "check the number (appointment, application) and try again",
        "conflict": "the same action was already done with other details: ask the staff",
        "too_early": "check-in is not open yet: come back closer to the appointment time",
        "too_late": "the check-in window has passed: take a walk-in ticket or ask the staff",
        "no_capacity": "no place left: choose another slot or date",
        "closed": "the appointment was cancelled or the service is closed",
        "not_finished": "the application is still being processed: rate it once it is finished",
        "forbidden": "this terminal may not do that (another citizen's record): ask the staff",
        "internal": "the central service failed: try again later or ask the staff",
    }

    def __init__(self, error_code: str, message: str = "", op: str = "") -> None:
        self.error_code = error_code
        self.message = message
        self.op = op
        super().__init__(f"{op or 'request'} rejected: {error_code}: {message}".rstrip(": "),
                         action=self.ACTIONS.get(error_code, "ask the staff"))


class NotDelivered(NetworkError):
    """The broker refused a publish (PUBACK reason code >= 0x80, e.g. 0x87 not authorised)."""

    code = "network.not_delivered"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, action="technician: check the broker's ACL for this terminal")


class SubscriptionRefused(NetworkError):
    """The broker refused one of the terminal's own subscriptions (SUBACK reason code >= 0x80).

    Typically 0x87: the broker's ACLs do not know this terminal (a certificate was issued, the
    broker's dynamic-security config was not updated). The broker says so only in the SUBACK; the
    terminal would otherwise wait for answers and commands that can never arrive.
    """

    code = "network.subscription_refused"

    def __init__(self, terminal: str, topic: str, detail: str) -> None:
        super().__init__(
            f"the broker refused SUBSCRIBE {topic}: {detail}",
            action=f"add terminal {terminal} to the broker's dynamic-security config "
                   f"(python -m hall_central.pki --dynsec-commands add --terminals {terminal}; config/broker/README.md); "
                   "the broker then disconnects the terminal, which reconnects and subscribes again")
        self.terminal, self.topic, self.detail = terminal, topic, detail

    def to_dict(self) -> dict[str, Any]:
        """The typed error plus the refused topic."""
        return {**super().to_dict(), "topic": self.topic}


class InvalidMessage(NetworkError):
    """A message (ours or the central service's) that does not match the contract's schemas."""

    code = "network.invalid"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "report to the technician: terminal and central service disagree on contract v1")
        super().__init__(reason, **kw)


class WrongTerminal(InvalidMessage):
    """An envelope naming another terminal than the topic it came on (the central service
    answers ``forbidden``: the sender is the topic's terminal, which the broker binds to its
    certificate)."""

    code = "network.wrong_terminal"


class OutboxFull(NetworkError):
    """The durable outbox reached its bound: new durable work is refused until it drains."""

    code = "network.outbox_full"
    citizen_message = "系统繁忙，暂时无法提交，请到窗口办理。"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "staff: check the network link; the outbox drains once the central service answers")
        super().__init__(reason, **kw)


class PersonalDataRefused(NetworkError):
    """A durable body contained what looks like an ID number: refused, never written to disk."""

    code = "network.personal_data"

    def __init__(self, reason: str, **kw: Any) -> None:
        kw.setdefault("action", "programming error: durable bodies carry only references (citizen_ref)")
        super().__init__(reason, **kw)
