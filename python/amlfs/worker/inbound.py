"""What a message from the controller must satisfy beyond its header's schema (docs/protocol.md,
"Framing"), and the shapes the I/O thread hands the training thread.

This run's ``runId``, the sender ``controller``, a type the controller sends, the payload frames
that type carries, a checkpoint announced within the size limit and a chunk within the chunk
limit. What only a transfer knows (chunk order, length, the sha256 of the whole) is checked by
its receiver (:class:`amlfs.worker.transfers.IncomingTransfer`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import HeaderError, SessionClosed

#: Types the controller sends (docs/protocol.md); anything else from it is rejected.
FROM_CONTROLLER = frozenset(
    {"welcome", "heartbeat", "initRequest", "task", "keep", "checkpointRequest", "checkpoint", "checkpointChunk",
     "credit", "checkpointAbort", "reject", "shutdown"}
)
#: Types routed to the training thread.
TO_MAIN = frozenset({"welcome", "initRequest", "task"})


@dataclass
class Message:
    """An incoming message: its validated header and payload frames."""

    header: Dict[str, Any]
    payload: List[bytes] = field(default_factory=list)
    error: Optional[str] = None  # set when a reply the training thread waits for failed a check

    @property
    def type(self) -> str:
        return self.header["type"]


@dataclass
class Event:
    """The end of the session, for the training thread: ``error`` is what to raise."""

    error: SessionClosed


@dataclass(frozen=True)
class InboundRules:
    """What the checks after the schema compare against: this run, and the size limits."""

    run_id: str
    max_checkpoint_bytes: int
    max_chunk_bytes: int


def check_inbound(header: Dict[str, Any], payload: List[bytes], rules: InboundRules) -> None:
    """The receiver's checks after the schema: run, sender, direction, payload; :class:`HeaderError`
    naming the field otherwise."""
    msg_id = header["msgId"]
    if header["runId"] != rules.run_id:
        raise HeaderError("runId", f"`runId`: expected {rules.run_id!r}, got {header['runId']!r}", msg_id)
    if header["sender"] != "controller":
        raise HeaderError("sender", f"`sender`: expected \"controller\", got {header['sender']!r}", msg_id)
    kind = header["type"]
    if kind not in FROM_CONTROLLER:
        raise HeaderError("type", f"`type`: {kind} is not sent by the controller", msg_id)
    expected = 1 if kind == "checkpointChunk" else 0
    if len(payload) != expected:
        raise HeaderError("payload", f"`payload`: {kind} carries {expected} frame(s), got {len(payload)}", msg_id)
    if kind == "checkpoint" and header["sizeBytes"] > rules.max_checkpoint_bytes:
        raise HeaderError(
            "sizeBytes", f"`sizeBytes`: expected at most {rules.max_checkpoint_bytes}, got {header['sizeBytes']}", msg_id
        )
    if kind == "checkpointChunk" and not 1 <= len(payload[0]) <= rules.max_chunk_bytes:
        raise HeaderError("payload", f"`payload`: a chunk has 1 to {rules.max_chunk_bytes} bytes, got {len(payload[0])}",
                          msg_id)


def peek(head: bytes) -> Optional[Dict[str, Any]]:
    """The JSON object in a header frame that failed its checks, or ``None`` when it is not one."""
    if not head:
        return None
    try:
        value = json.loads(bytes(head).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def peek_type(head: bytes) -> Optional[str]:
    """The ``type`` of a header frame that failed its checks, when it has one (a reject is never answered)."""
    header = peek(head)
    return header.get("type") if header else None
