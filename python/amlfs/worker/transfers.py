"""Chunked checkpoint transfers with credit-based flow control, both ways (docs/protocol.md,
"Checkpoint transfer"), as the worker's I/O thread runs them::

    sender   -> checkpoint {sha256, sizeBytes, chunkBytes, transferId}
    receiver -> credit {transferId, chunks: window}
    sender   -> checkpointChunk {transferId, index, offset} + bytes   (only against credit)
    receiver -> credit {transferId, chunks: 1}                          (per chunk written)
    either   -> checkpointAbort {transferId, reason}                    (gives up)

A chunk goes out only against credit, a received chunk is written and acknowledged with one
chunk of credit, the sha256 of the whole is checked before the state is used, and a transfer
without progress for ``timeout_s`` is abandoned. Only the I/O thread touches these objects.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Callable, Dict, Optional, Tuple

from ..checkpoint import PackedState
from .errors import HeaderError

log = logging.getLogger("amlfs.worker")

#: Sends one message: ``post(type, fields, reply_to=None, data=None)``, ``data`` the payload frame.
Post = Callable[..., None]


class Transfers:
    """The checkpoints in flight, by ``transferId``: uploads (:attr:`outgoing`) and downloads (:attr:`incoming`).

    ``post`` sends a message; ``completed(header, data)`` receives a download whose sha256 checked
    out (``header``: its ``checkpoint`` announcement); ``failed(header, reason)`` learns of a
    download abandoned by either side.
    """

    def __init__(self, worker_id: str, *, chunk_bytes: int, window_chunks: int, timeout_s: float, post: Post,
                 completed: Callable[[Dict[str, Any], bytes], None], failed: Callable[[Dict[str, Any], str], None]):
        self.worker_id = worker_id
        self.chunk_bytes = chunk_bytes
        self.window_chunks = window_chunks
        self.timeout_s = timeout_s
        self.outgoing: Dict[str, OutgoingTransfer] = {}
        self.incoming: Dict[str, IncomingTransfer] = {}
        self._post = post
        self._completed = completed
        self._failed = failed
        self._counter = 0

    def upload(self, packed: PackedState, reply_to: Optional[str], task_id: Optional[str]) -> None:
        """Announce ``packed``; its chunks follow as the controller grants credit."""
        self._counter += 1
        transfer_id = f"{self.worker_id}-t{self._counter}"
        fields: Dict[str, Any] = {"sha256": packed.sha256, "sizeBytes": packed.size_bytes,
                                  "chunkBytes": self.chunk_bytes, "transferId": transfer_id}
        if task_id is not None:
            fields["taskId"] = task_id
        self.outgoing[transfer_id] = OutgoingTransfer(transfer_id, packed.data, self.chunk_bytes, time.monotonic())
        self._post("checkpoint", fields, reply_to=reply_to)
        log.info("uploading %s (%d bytes, transfer %s)%s", packed.sha256[:12], packed.size_bytes, transfer_id,
                 f" of {task_id}" if task_id else "")

    def on_credit(self, header: Dict[str, Any]) -> None:
        transfer = self.outgoing.get(header["transferId"])
        if transfer is None:
            return  # finished or abandoned meanwhile
        transfer.credit += header["chunks"]
        transfer.last_progress = time.monotonic()
        while True:
            chunk = transfer.take()
            if chunk is None:
                break
            index, offset, data = chunk
            self._post("checkpointChunk", {"transferId": transfer.transfer_id, "index": index, "offset": offset},
                       data=data)
        if transfer.done:
            del self.outgoing[transfer.transfer_id]

    def on_announce(self, header: Dict[str, Any]) -> None:
        transfer = IncomingTransfer(header, time.monotonic())
        self.incoming[transfer.transfer_id] = transfer
        self._grant(transfer)

    def on_chunk(self, header: Dict[str, Any], data: bytes) -> None:
        transfer = self.incoming.get(header["transferId"])
        if transfer is None:
            return  # chunks still in flight after an abandon (at most a window of them)
        try:
            transfer.accept(header["index"], header["offset"], data, header["msgId"])
            transfer.last_progress = time.monotonic()
            if not transfer.done:
                self._grant(transfer)
                return
            del self.incoming[transfer.transfer_id]
            state = transfer.finish()
        except HeaderError as error:
            self._abandon_incoming(transfer, error.reason)
            return
        self._completed(transfer.header, state)

    def on_abort(self, header: Dict[str, Any]) -> None:
        transfer_id, reason = header["transferId"], header["reason"]
        log.warning("controller abandoned transfer %s: %s", transfer_id, reason)
        self.outgoing.pop(transfer_id, None)
        transfer = self.incoming.pop(transfer_id, None)
        if transfer is not None:
            self._failed(transfer.header, f"the controller abandoned the transfer: {reason}")

    def expire(self, now: float) -> None:
        """Abandon every transfer without progress for ``timeout_s``."""
        for transfer in [t for t in self.incoming.values() if now - t.last_progress > self.timeout_s]:
            self._abandon_incoming(transfer, f"no chunk for {int(self.timeout_s * 1000)} ms")
        for transfer in [t for t in self.outgoing.values() if now - t.last_progress > self.timeout_s]:
            del self.outgoing[transfer.transfer_id]
            reason = f"no credit for {int(self.timeout_s * 1000)} ms"
            log.warning("abandoned transfer %s: %s", transfer.transfer_id, reason)
            self._post("checkpointAbort", {"transferId": transfer.transfer_id, "reason": reason})

    def _grant(self, transfer: "IncomingTransfer") -> None:
        chunks = transfer.grant(self.window_chunks)
        if chunks > 0:
            self._post("credit", {"transferId": transfer.transfer_id, "chunks": chunks})

    def _abandon_incoming(self, transfer: "IncomingTransfer", reason: str) -> None:
        """Drop a download (nothing of it is used), tell the controller and the thread waiting for it."""
        self.incoming.pop(transfer.transfer_id, None)
        log.warning("abandoned transfer %s: %s", transfer.transfer_id, reason)
        self._post("checkpointAbort", {"transferId": transfer.transfer_id, "reason": reason[:4096]})
        self._failed(transfer.header, reason)


class OutgoingTransfer:
    """A checkpoint this worker sends in chunks (docs/protocol.md, "Checkpoint transfer").

    Chunk ``i`` is ``data[i * chunk_bytes : (i + 1) * chunk_bytes]``, sent only against
    credit: at most the receiver's window is ever unacknowledged. Slices are views, so
    sending holds no copy of the state.
    """

    def __init__(self, transfer_id: str, data: bytes, chunk_bytes: int, now: float):
        self.transfer_id = transfer_id
        self.view = memoryview(data)
        self.chunk_bytes = chunk_bytes
        self.chunks = -(-len(data) // chunk_bytes)
        self.next = 0
        self.credit = 0
        self.last_progress = now

    def take(self) -> Optional[Tuple[int, int, memoryview]]:
        """The next chunk the credit allows, as ``(index, offset, bytes)``, or ``None``."""
        if self.credit <= 0 or self.next >= self.chunks:
            return None
        index, offset = self.next, self.next * self.chunk_bytes
        self.next += 1
        self.credit -= 1
        return index, offset, self.view[offset : offset + self.chunk_bytes]

    @property
    def done(self) -> bool:
        return self.next >= self.chunks


class IncomingTransfer:
    """A checkpoint this worker receives in chunks, written in order into the buffer the
    state will live in (its size is announced), hashed as it comes; one chunk of credit
    is granted per chunk written, so ZeroMQ never buffers more than the window.
    """

    def __init__(self, header: Dict[str, Any], now: float):
        self.header = header
        self.transfer_id: str = header["transferId"]
        self.size_bytes: int = header["sizeBytes"]
        self.chunk_bytes: int = header["chunkBytes"]
        self.chunks = -(-self.size_bytes // self.chunk_bytes)
        self.buffer = bytearray(self.size_bytes)
        self.hasher = hashlib.sha256()
        self.next = 0
        self.credited = 0
        self.last_progress = now

    def grant(self, window: int) -> int:
        """Chunks of credit to grant now: the window at first, then one per chunk written."""
        chunks = min(window if self.credited == 0 else 1, self.chunks - self.credited)
        self.credited += max(chunks, 0)
        return max(chunks, 0)

    def accept(self, index: int, offset: int, data: bytes, msg_id: Optional[str] = None) -> None:
        """Write chunk ``index``; :class:`HeaderError` naming the field when it is not the one due."""
        expected_len = min(self.chunk_bytes, self.size_bytes - offset) if offset < self.size_bytes else 0
        if index != self.next:
            raise HeaderError("index", f"`index`: expected chunk {self.next} next, got {index}", msg_id)
        if index >= self.credited:
            raise HeaderError("index", f"`index`: chunk {index} is beyond the {self.credited} chunks of credit", msg_id)
        if offset != index * self.chunk_bytes:
            raise HeaderError("offset", f"`offset`: chunk {index} starts at {index * self.chunk_bytes}, got {offset}", msg_id)
        if len(data) != expected_len:
            raise HeaderError("payload", f"`payload`: chunk {index} has {expected_len} bytes, got {len(data)}", msg_id)
        self.buffer[offset : offset + len(data)] = data
        self.hasher.update(data)
        self.next += 1

    @property
    def done(self) -> bool:
        return self.next >= self.chunks

    def finish(self) -> bytes:
        """The verified bytes; :class:`HeaderError` (``sha256``) when they do not hash to the announced sha256."""
        digest = self.hasher.hexdigest()
        if digest != self.header["sha256"]:
            raise HeaderError(
                "sha256", f"`sha256`: announced {self.header['sha256']}, the {self.chunks} chunks hash to {digest}",
                self.header["msgId"],
            )
        data = bytes(self.buffer)
        self.buffer = bytearray()
        return data
