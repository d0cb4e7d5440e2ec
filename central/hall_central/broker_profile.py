"""The production broker profile's numbers: the size, inflight and queue limits every Mosquitto we
ship says (config/broker/mosquitto.conf, the profile :mod:`hall_central.pki` writes, the private
demo and test broker of ``hall_demo.broker``), and where Mosquitto is."""
from __future__ import annotations

import os
import shutil

from kiosk.network.envelope import MAX_BYTES

#: ``max_packet_size``: the largest MQTT packet a client may send, in bytes. The largest legitimate
#: message is an ``upload.chunk`` request: 48 KiB of photo is 65,536 Base64 characters, in an
#: envelope with the longest ids the schemas allow 66,240 bytes (tests/security/test_broker_limits.py
#: builds it); a ``catalogue.sync`` answer for the 46 seeded items is ~59 KB. The bound is the
#: envelope's own cap (kiosk.network.envelope.MAX_BYTES, 256 KiB: ~4x the chunk, and every reader
#: refuses more anyway) plus 1 KiB for the rest of a PUBLISH (the longest topic
#: ``kiosk/v1/<64>/req/<64-char op>`` is 142 bytes; packet id, properties, fixed header: < 20).
#: Why max_packet_size and not message_size_limit: Mosquitto checks it against the length header
#: before reading the body, so a 100 MB packet costs the broker nothing (the sender is
#: disconnected with reason 0x95 and was told the limit in its CONNACK). message_size_limit reads
#: the whole packet into memory first, and 2.0.11 then answers with PUBACK 0x95, a code MQTT v5
#: does not allow in a PUBACK: paho drops the connection on it anyway (found by experiment).
MAX_PACKET_SIZE = MAX_BYTES + 1024
#: ``max_inflight_messages``: QoS 1 messages in flight from the broker to one client (also its MQTT v5
#: Receive Maximum). Why 100, not Mosquitto's 20: one central instance's connection carries the
#: requests of the whole fleet; a terminal never has more than a handful in flight.
MAX_INFLIGHT_MESSAGES = 100
#: ``max_queued_messages``: QoS 1 messages queued for one client beyond those in flight, also while
#: it is offline with a persistent session (the gateway asks for 7 days). Mosquitto silently drops
#: what exceeds it. A terminal gets a few broadcasts a day per region level, rare commands and the
#: answers to the requests it had in flight: a week offline stays two orders of magnitude below.
#: The limit is per client and global, so it is sized for the central service's connection: when
#: a whole fleet comes back after an outage, every outbox drains at once (100 in flight per
#: gateway), and what the central's queue drops waits for the outbox's next retry.
MAX_QUEUED_MESSAGES = 100_000
#: ``max_queued_bytes``: the same queue's memory bound, whatever the messages' size: a terminal
#: flooding its own request topic with maximal messages fills the central's queue to this, not to
#: 100,000 x 256 KiB.
MAX_QUEUED_BYTES = 128 * 1024 * 1024


def limit_lines() -> list[str]:
    """The size, inflight and queue limits, as mosquitto.conf lines (every profile we ship)."""
    return [f"max_packet_size {MAX_PACKET_SIZE}", f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}", f"max_queued_bytes {MAX_QUEUED_BYTES}"]


def find_mosquitto() -> str:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin)."""
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise FileNotFoundError("mosquitto not found: run `make setup` (Debian package mosquitto)")
